use super::*;

fn api(errcode: i64, errmsg: &str) -> WeComError {
    WeComError::Api {
        errcode,
        errmsg: errmsg.into(),
    }
}

#[test]
fn dispositions_follow_the_errcode_table() {
    for code in [-1, 40014, 41001, 42001] {
        assert_eq!(api(code, "x").disposition(), Disposition::Retry, "{code}");
    }
    for code in [45009, 45033] {
        assert_eq!(api(code, "x").disposition(), Disposition::Throttled, "{code}");
        assert!(api(code, "x").is_transient());
    }
    for code in [
        60020, 93000, 93004, 93008, 40001, 40013, 40056, 301002, 86008, 60011, 48002,
    ] {
        assert_eq!(api(code, "x").disposition(), Disposition::Hold, "{code}");
    }
    // Developers report 86001 for a chat not created yet, not only 86003.
    for code in [86001, 86003] {
        assert_eq!(api(code, "x").disposition(), Disposition::ChatMissing, "{code}");
    }
    assert_eq!(api(86215, "x").disposition(), Disposition::ChatExists);
    for code in [81013, 40003, 82001, 44004, 45002, 40008, 40058, 123456] {
        assert_eq!(api(code, "x").disposition(), Disposition::Fail, "{code}");
    }
    let http = |status| WeComError::Http {
        status,
        body: String::new(),
    };
    assert_eq!(http(502).disposition(), Disposition::Retry);
    assert_eq!(http(429).disposition(), Disposition::Retry);
    assert_eq!(http(404).disposition(), Disposition::Fail);
}

#[test]
fn config_errors_are_the_admin_fixable_ones() {
    for code in [
        40001, 40013, 60020, 40056, 301002, 93000, 93004, 93008, 86008, 60011, 48002,
    ] {
        assert!(api(code, "x").is_config_error(), "{code}");
    }
    // Every recipient invalid is one message's problem, not the destination's.
    for code in [-1, 45009, 44004, 40003, 86003, 81013] {
        assert!(!api(code, "x").is_config_error(), "{code}");
    }
}

#[test]
fn secret_rejected_tells_the_fix_in_both_languages() {
    let err = api(40001, "invalid credential, hint: [1], from ip: 1.2.3.4");
    assert_eq!(err.code(), "wecom.secret_rejected");
    assert!(err.message_zh().contains("请在企业微信管理后台核对该应用的 Secret"));
    assert!(err
        .message_en()
        .contains("check the app's Secret in the WeCom admin console"));
    assert!(err.message_zh().contains("40001"));
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(err.errmsg(), Some("invalid credential, hint: [1], from ip: 1.2.3.4"));
}

#[test]
fn ip_not_trusted_names_the_ip() {
    let err = api(
        60020,
        "not allow to access from your ip, hint: [1704067200_7_ab], from ip: 203.0.113.9, more info at https://open.work.weixin.qq.com/devtool/query?e=60020",
    );
    assert_eq!(err.untrusted_ip(), Some("203.0.113.9"));
    assert_eq!(err.code(), "wecom.ip_not_trusted");
    assert!(err.message_zh().contains("203.0.113.9"));
    assert!(err.message_zh().contains("企业可信IP"));
    assert!(err.message_en().contains("add 203.0.113.9 to the app's Trusted IPs"));
    // An errmsg without the IP still gives an actionable sentence.
    let bare = api(60020, "not allow to access from your ip");
    assert_eq!(bare.untrusted_ip(), None);
    assert!(bare.message_zh().contains("本服务器的出口 IP"));
}

#[test]
fn codes_and_statuses() {
    assert_eq!(api(81013, "").code(), "wecom.recipients_all_invalid");
    assert_eq!(api(93000, "").code(), "wecom.robot_key_invalid");
    assert!(api(93000, "").message_zh().contains("机器人"));
    assert_eq!(api(45009, "").code(), "wecom.rate_limited");
    assert!(api(45009, "").message_en().contains("will retry"));
    assert_eq!(api(45009, "").status(), 503);
    assert_eq!(api(44004, "").status(), 422);
    assert_eq!(api(40001, "").status(), 502);
    let unknown = api(99999, "something new");
    assert_eq!(unknown.code(), "wecom.api_error");
    assert!(unknown.message_en().contains("something new"));
}

#[test]
fn token_failures_are_gettokens_own_or_not_reaching_wecom() {
    for code in [40001, 40013, 60020, 40091, 42009] {
        assert!(api(code, "x").failed_at_token(), "{code}");
    }
    for code in [40014, 40056, 301002, 81013, 40003, 45009, -1] {
        assert!(!api(code, "x").failed_at_token(), "{code}");
    }
    let http = WeComError::Http {
        status: 502,
        body: String::new(),
    };
    assert!(http.failed_at_token(), "WeCom not reached: no step after the token ran");
}

#[test]
fn an_unreachable_member_reads_like_wecoms_own_81013() {
    let err = WeComError::recipients_unreachable("zhangsan");
    assert_eq!(err.errcode(), Some(81013));
    assert_eq!(err.code(), "wecom.recipients_all_invalid");
    assert_eq!(err.errmsg(), Some("user zhangsan unreachable"));
    assert_eq!(err.disposition(), Disposition::Fail);
}

#[test]
fn only_a_refused_login_code_is_the_visitors_to_retry() {
    assert!(api(40029, "invalid code").is_login_code_refused());
    assert!(!api(40001, "x").is_login_code_refused());
    assert!(!api(50001, "x").is_login_code_refused());
}
