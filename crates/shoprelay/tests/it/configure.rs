//! The console's configure pages over plain HTTP: a shop the marketplace froze, named by "test
//! connection" and the entity check; the rule editor's preview and its refusals; conversation actions.

use reqwest::StatusCode;
use serde_json::json;

use crate::console::{csrf_of, first_admin, get_page, post_form};
use crate::helpers::{spawn_app, SHOP};

#[tokio::test]
async fn a_frozen_shop_fails_test_connection_and_the_entity_check() {
    let app = spawn_app().await;
    app.authorize().await;
    let session = first_admin(&app).await;
    let frozen = app
        .http
        .post(format!("{}/sim/shops/status", app.shopee.base_url()))
        .json(&json!({ "shop_id": SHOP, "status": "FROZEN" }))
        .send()
        .await
        .unwrap();
    assert_eq!(frozen.status(), StatusCode::NO_CONTENT);
    let page = crate::console::test_connection(&app, &session).await;
    for passed in ["推送签名", "刷新店铺令牌", "订单接口调用"] {
        assert!(
            page.contains(&format!("<li class=\"step-ok\">{passed}")),
            "{passed}: {page}"
        );
    }
    assert!(page.contains("<li class=\"step-fail\">店铺状态"), "{page}");
    assert!(page.contains("ERR_SHOP_FROZEN"), "{page}");
    let (_, entity) = get_page(&app, &session, "/console/entity").await;
    assert!(
        entity.contains("ERR_SHOP_FROZEN") && entity.contains("已冻结"),
        "{entity}"
    );

    // Trading again: the next test connection clears it.
    app.http
        .post(format!("{}/sim/shops/status", app.shopee.base_url()))
        .json(&json!({ "shop_id": SHOP, "status": "NORMAL" }))
        .send()
        .await
        .unwrap();
    crate::console::test_connection(&app, &session).await;
    let (_, entity) = get_page(&app, &session, "/console/entity").await;
    assert!(!entity.contains("ERR_SHOP_FROZEN"), "{entity}");
}

async fn editor(
    app: &crate::helpers::TestApp,
    session: &str,
    fields: Vec<(&'static str, String)>,
) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(app, session, "/console/rules/editor", &fields).await
}

#[tokio::test]
async fn the_rule_editor_previews_names_what_is_wrong_and_saves_only_for_operators() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let csrf = csrf_of(&get_page(&app, &session, "/console/rules/new").await.1);
    let form = |intent: &'static str, targets: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("id", "night".to_owned()),
            ("enabled", "1".to_owned()),
            ("ev.order_created", "1".to_owned()),
            ("targets", targets.to_owned()),
            ("template", "**夜间订单** {{ event.order_sn }}".to_owned()),
            ("source", "kind:order_created".to_owned()),
            ("intent", intent.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| editor(&app, &session, fields);
    let preview = post(form("preview", "{ type = \"robot\", robot = \"ops\" }"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        preview.contains("<strong>夜间订单</strong>"),
        "drawn as WeCom does: {preview}"
    );
    assert!(preview.contains("robot:ops"), "{preview}");
    assert!(
        get_page(&app, &session, "/console/rules")
            .await
            .1
            .find("night")
            .is_none(),
        "a preview saves nothing"
    );

    let refused = post(form("save", "{ type = \"robot\", robot = \"nobody\" }\nnot toml"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        refused.contains("rule.invalid") && refused.contains("targets[1]"),
        "{refused}"
    );
    let bad_target = post(form("save", "{ type = \"robot\", robot = \"nobody\" }"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        bad_target.contains("rule.invalid") && bad_target.contains("nobody"),
        "{bad_target}"
    );

    let saved = post(form("save", "{ type = \"robot\", robot = \"ops\" }")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, list) = get_page(&app, &session, "/console/rules").await;
    assert!(list.contains("/console/rules/night/edit"), "{list}");
    let (_, edit) = get_page(&app, &session, "/console/rules/night/edit").await;
    assert!(
        edit.contains("夜间订单") && edit.contains("robot = &quot;ops&quot;"),
        "{edit}"
    );
    let (_, dry) = get_page(&app, &session, "/console/rules?source=kind:order_created").await;
    assert!(
        dry.contains("<strong>夜间订单</strong>") && dry.contains("<span class=\"step-ok\">匹配</span>"),
        "{dry}"
    );
    let (_, actions) = get_page(&app, &session, "/console/actions").await;
    assert!(actions.contains("rule.save"), "{actions}");
}
