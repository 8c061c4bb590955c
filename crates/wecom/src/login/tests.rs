use serde_json::json;

use super::*;
use crate::Secret;

fn creds(api_base: &str) -> AppCredentials {
    AppCredentials {
        corp_id: "ww0123456789abcdef".into(),
        secret: Secret::new("s".to_owned()),
        agent_id: 1000002,
        api_base: api_base.into(),
    }
}

#[test]
fn members_are_named_by_userid_and_others_by_openid() {
    let member = json!({"errcode": 0, "errmsg": "ok", "userid": "ZhangSan", "user_ticket": "t"});
    assert_eq!(
        parse_userinfo(&member).unwrap(),
        LoginIdentity::Member(WeComUserId::parse("ZhangSan").unwrap())
    );
    let outsider = json!({"errcode": 0, "errmsg": "ok", "openid": "oAbC", "external_userid": "wm1"});
    assert_eq!(
        parse_userinfo(&outsider).unwrap(),
        LoginIdentity::NonMember { openid: "oAbC".into() }
    );
    assert!(
        parse_userinfo(&json!({"errcode": 0, "errmsg": "ok"})).is_err(),
        "nobody"
    );
    assert!(parse_userinfo(&json!({"userid": "张三"})).is_err(), "not a userid");
    assert!(parse_userinfo(&json!({"userid": "", "openid": ""})).is_err());
}

#[test]
fn the_login_link_names_the_app_and_comes_back_with_the_state() {
    let link = sso_login_url(
        &creds(DEFAULT_API_BASE),
        "https://relay.example.com/console/login/wecom",
        "s t&x",
    );
    let url = reqwest::Url::parse(&link).unwrap();
    assert_eq!(url.host_str(), Some("login.work.weixin.qq.com"));
    assert_eq!(url.path(), "/wwlogin/sso/login");
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("login_type"), Some("CorpApp"));
    assert_eq!(get("appid"), Some("ww0123456789abcdef"));
    assert_eq!(get("agentid"), Some("1000002"));
    assert_eq!(
        get("redirect_uri"),
        Some("https://relay.example.com/console/login/wecom")
    );
    assert_eq!(
        get("state"),
        Some("s t&x"),
        "escaped in the link, whole on the way back"
    );
}

#[test]
fn a_simulator_serves_its_own_login_page() {
    assert_eq!(login_base("https://qyapi.weixin.qq.com/"), DEFAULT_LOGIN_BASE);
    assert_eq!(login_base("http://127.0.0.1:9000/"), "http://127.0.0.1:9000");
    assert!(sso_login_url(&creds("http://127.0.0.1:9000"), "http://x/cb", "s")
        .starts_with("http://127.0.0.1:9000/wwlogin/sso/login?login_type=CorpApp&"));
}
