//! Built-in message templates, one per event kind and language, written as WeCom robot markdown
//! (`###` title, `>` quoted lines, `<font color>` highlights). A rule without its own template uses
//! these; sellers can copy one as the start of their own. Markup built in an expression is marked
//! `| safe`: every other value printed is escaped for markdown (see [`template`](super::template)).

use crate::error::Lang;
use crate::event::EventKind;

/// The built-in template source for `kind` in `lang`.
pub fn builtin(kind: EventKind, lang: Lang) -> &'static str {
    match (lang, kind) {
        (Lang::Zh, EventKind::OrderCreated) => ZH_ORDER_CREATED,
        (Lang::Zh, EventKind::OrderStatusChanged) => ZH_ORDER_STATUS_CHANGED,
        (Lang::Zh, EventKind::TrackingNumberAssigned) => ZH_TRACKING_NUMBER_ASSIGNED,
        (Lang::Zh, EventKind::ShopAuthorized) => ZH_SHOP_AUTHORIZED,
        (Lang::Zh, EventKind::ShopDeauthorized) => ZH_SHOP_DEAUTHORIZED,
        (Lang::Zh, EventKind::AuthorizationExpiring) => ZH_AUTHORIZATION_EXPIRING,
        (Lang::Zh, EventKind::ReauthorizationRequired) => ZH_REAUTHORIZATION_REQUIRED,
        (Lang::Zh, EventKind::BuyerMessage) => ZH_BUYER_MESSAGE,
        (Lang::Zh, EventKind::DeliveryFailing) => ZH_DELIVERY_FAILING,
        (Lang::Zh, EventKind::ChatUnavailable) => ZH_CHAT_UNAVAILABLE,
        (Lang::En, EventKind::OrderCreated) => EN_ORDER_CREATED,
        (Lang::En, EventKind::OrderStatusChanged) => EN_ORDER_STATUS_CHANGED,
        (Lang::En, EventKind::TrackingNumberAssigned) => EN_TRACKING_NUMBER_ASSIGNED,
        (Lang::En, EventKind::ShopAuthorized) => EN_SHOP_AUTHORIZED,
        (Lang::En, EventKind::ShopDeauthorized) => EN_SHOP_DEAUTHORIZED,
        (Lang::En, EventKind::AuthorizationExpiring) => EN_AUTHORIZATION_EXPIRING,
        (Lang::En, EventKind::ReauthorizationRequired) => EN_REAUTHORIZATION_REQUIRED,
        (Lang::En, EventKind::BuyerMessage) => EN_BUYER_MESSAGE,
        (Lang::En, EventKind::DeliveryFailing) => EN_DELIVERY_FAILING,
        (Lang::En, EventKind::ChatUnavailable) => EN_CHAT_UNAVAILABLE,
        (Lang::Zh, EventKind::OrderCancelled) => ZH_ORDER_CANCELLED,
        (Lang::Zh, EventKind::CancellationRequested) => ZH_CANCELLATION_REQUESTED,
        (Lang::Zh, EventKind::ReturnRequested) => ZH_RETURN_REQUESTED,
        (Lang::Zh, EventKind::LogisticsException) => ZH_LOGISTICS_EXCEPTION,
        (Lang::Zh, EventKind::Escalation) => ZH_ESCALATION,
        (Lang::En, EventKind::OrderCancelled) => EN_ORDER_CANCELLED,
        (Lang::En, EventKind::CancellationRequested) => EN_CANCELLATION_REQUESTED,
        (Lang::En, EventKind::ReturnRequested) => EN_RETURN_REQUESTED,
        (Lang::En, EventKind::LogisticsException) => EN_LOGISTICS_EXCEPTION,
        (Lang::En, EventKind::Escalation) => EN_ESCALATION,
    }
}

const ZH_ORDER_CREATED: &str = r#"### 新订单{{ ' <font color="warning">货到付款</font>' | safe if order and order.cod }}

> 订单号：{{ event.order_sn }}
> 店铺：{{ event.shop_id }}
{% if order %}
> 买家：{{ order.buyer_username or "—" }}
> 状态：{{ order.status | status_zh }}
{% for item in order.items[:10] %}
- {{ item.name }}{% if item.model %}（{{ item.model }}）{% endif %} × {{ item.quantity }}
{% endfor %}
{% if order.items | length > 10 %}
- …… 共 {{ order.items | length }} 种商品
{% endif %}
> 金额：<font color="info">{{ order.total_amount | money(order.currency) }}</font>
{% if order.ship_by_date %}
> 最晚发货：{{ order.ship_by_date | local_time }}
{% endif %}
{% if order.message_to_seller %}
> 买家留言：{{ order.message_to_seller }}
{% endif %}
{% endif %}
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_ORDER_STATUS_CHANGED: &str = r#"### 订单状态变更

> 订单号：{{ event.order_sn }}
> 店铺：{{ event.shop_id }}
> 状态：{% if event.from_status %}{{ event.from_status | status_zh }} → {% endif %}<font color="info">{{ event.to_status | status_zh }}</font>
{% if order %}
> 买家：{{ order.buyer_username or "—" }}
{% for item in order.items[:10] %}
- {{ item.name }}{% if item.model %}（{{ item.model }}）{% endif %} × {{ item.quantity }}
{% endfor %}
{% if order.items | length > 10 %}
- …… 共 {{ order.items | length }} 种商品
{% endif %}
> 金额：{{ order.total_amount | money(order.currency) }}
{% endif %}
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_TRACKING_NUMBER_ASSIGNED: &str = r#"### 已分配运单号

> 订单号：{{ event.order_sn }}
> 店铺：{{ event.shop_id }}
> 运单号：<font color="info">{{ event.tracking_no }}</font>
{% if event.package_number %}
> 包裹号：{{ event.package_number }}
{% endif %}
{% if order and order.shipping_carrier %}
> 物流渠道：{{ order.shipping_carrier }}
{% endif %}
{% if order and order.ship_by_date %}
> 最晚发货：{{ order.ship_by_date | local_time }}
{% endif %}
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_SHOP_AUTHORIZED: &str = r#"### 店铺已授权

> 平台：{{ event.platform | title }}
> 店铺：{{ event.shop_id }}
> 此后该店铺的订单与买家消息将推送到企业微信。
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_SHOP_DEAUTHORIZED: &str = r#"### <font color="warning">店铺已取消授权</font>

> 平台：{{ event.platform | title }}
> 店铺：{{ event.shop_id }}
> 该店铺的推送已停止；如需继续，请店主在卖家中心重新授权。
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_AUTHORIZATION_EXPIRING: &str = r#"### <font color="warning">店铺授权即将到期</font>

> 平台：{{ event.platform | title }}
> 店铺：{{ event.shop_id }}
{% if event.expire_before %}
> 到期时间：<font color="warning">{{ event.expire_before | local_time }}</font>
{% endif %}
> 请在到期前由店主在卖家中心重新授权，否则订单推送将中断。"#;

const ZH_REAUTHORIZATION_REQUIRED: &str = r#"### <font color="warning">店铺需要重新授权</font>

> 平台：{{ event.platform | title }}
> 店铺：{{ event.shop_id }}
> 原因：{{ event.reason }}
> 授权已失效，订单推送已中断；请店主在卖家中心重新授权。
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_CHAT_UNAVAILABLE: &str = r#"### <font color="warning">店铺无法收发买家聊天</font>

> 平台：{{ event.platform | title }}
> 店铺：{{ event.shop_id }}
> 原因：{{ event.reason }}
> 成员无法从企业微信回复该店铺的买家；请在平台开放平台控制台处理后再试。
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_DELIVERY_FAILING: &str = r#"### <font color="warning">消息发送受阻</font>

> 目标：{{ event.destination }}
> 原因：{{ event.reason }}
> 消息已暂存，问题修复后会自动补发，不会丢失。
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_BUYER_MESSAGE: &str = r#"### 买家消息

> 买家：{{ event.buyer_name }}
> 店铺：{{ event.shop_id }}
{% if event.order_sn %}
> 订单号：{{ event.order_sn }}
{% endif %}
> 内容：{{ event.message_text }}
> 时间：{{ event.occurred_at | local_time }}"#;

const EN_ORDER_CREATED: &str = r#"### New order{{ ' <font color="warning">COD</font>' | safe if order and order.cod }}

> Order: {{ event.order_sn }}
> Shop: {{ event.shop_id }}
{% if order %}
> Buyer: {{ order.buyer_username or "—" }}
> Status: {{ order.status | status_en }}
{% for item in order.items[:10] %}
- {{ item.name }}{% if item.model %} ({{ item.model }}){% endif %} × {{ item.quantity }}
{% endfor %}
{% if order.items | length > 10 %}
- … {{ order.items | length }} items in all
{% endif %}
> Total: <font color="info">{{ order.total_amount | money(order.currency) }}</font>
{% if order.ship_by_date %}
> Ship by: {{ order.ship_by_date | local_time }}
{% endif %}
{% if order.message_to_seller %}
> Buyer's note: {{ order.message_to_seller }}
{% endif %}
{% endif %}
> Time: {{ event.occurred_at | local_time }}"#;

const EN_ORDER_STATUS_CHANGED: &str = r#"### Order status changed

> Order: {{ event.order_sn }}
> Shop: {{ event.shop_id }}
> Status: {% if event.from_status %}{{ event.from_status | status_en }} → {% endif %}<font color="info">{{ event.to_status | status_en }}</font>
{% if order %}
> Buyer: {{ order.buyer_username or "—" }}
{% for item in order.items[:10] %}
- {{ item.name }}{% if item.model %} ({{ item.model }}){% endif %} × {{ item.quantity }}
{% endfor %}
{% if order.items | length > 10 %}
- … {{ order.items | length }} items in all
{% endif %}
> Total: {{ order.total_amount | money(order.currency) }}
{% endif %}
> Time: {{ event.occurred_at | local_time }}"#;

const EN_TRACKING_NUMBER_ASSIGNED: &str = r#"### Tracking number assigned

> Order: {{ event.order_sn }}
> Shop: {{ event.shop_id }}
> Tracking no.: <font color="info">{{ event.tracking_no }}</font>
{% if event.package_number %}
> Package: {{ event.package_number }}
{% endif %}
{% if order and order.shipping_carrier %}
> Carrier: {{ order.shipping_carrier }}
{% endif %}
{% if order and order.ship_by_date %}
> Ship by: {{ order.ship_by_date | local_time }}
{% endif %}
> Time: {{ event.occurred_at | local_time }}"#;

const EN_SHOP_AUTHORIZED: &str = r#"### Shop authorized

> Platform: {{ event.platform | title }}
> Shop: {{ event.shop_id }}
> Orders and buyer messages of this shop will now reach WeCom.
> Time: {{ event.occurred_at | local_time }}"#;

const EN_SHOP_DEAUTHORIZED: &str = r#"### <font color="warning">Shop deauthorized</font>

> Platform: {{ event.platform | title }}
> Shop: {{ event.shop_id }}
> Pushes from this shop have stopped; the shop owner must authorize it again in the seller centre to resume.
> Time: {{ event.occurred_at | local_time }}"#;

const EN_AUTHORIZATION_EXPIRING: &str = r#"### <font color="warning">Shop authorization expiring</font>

> Platform: {{ event.platform | title }}
> Shop: {{ event.shop_id }}
{% if event.expire_before %}
> Expires: <font color="warning">{{ event.expire_before | local_time }}</font>
{% endif %}
> The shop owner must authorize again in the seller centre before then, or order pushes will stop."#;

const EN_REAUTHORIZATION_REQUIRED: &str = r#"### <font color="warning">Shop must be authorized again</font>

> Platform: {{ event.platform | title }}
> Shop: {{ event.shop_id }}
> Reason: {{ event.reason }}
> The authorization no longer works and order pushes have stopped; the shop owner must authorize again in the seller centre.
> Time: {{ event.occurred_at | local_time }}"#;

const EN_CHAT_UNAVAILABLE: &str = r#"### <font color="warning">Shop cannot send buyer chat</font>

> Platform: {{ event.platform | title }}
> Shop: {{ event.shop_id }}
> Reason: {{ event.reason }}
> Members cannot answer this shop's buyers from WeCom until it is fixed in the marketplace's open platform console.
> Time: {{ event.occurred_at | local_time }}"#;

const EN_DELIVERY_FAILING: &str = r#"### <font color="warning">Messages are held</font>

> Destination: {{ event.destination }}
> Reason: {{ event.reason }}
> Messages are kept and will be sent once this is fixed; nothing is lost.
> Time: {{ event.occurred_at | local_time }}"#;

const EN_BUYER_MESSAGE: &str = r#"### Buyer message

> Buyer: {{ event.buyer_name }}
> Shop: {{ event.shop_id }}
{% if event.order_sn %}
> Order: {{ event.order_sn }}
{% endif %}
> Message: {{ event.message_text }}
> Time: {{ event.occurred_at | local_time }}"#;

/// The order lines shared by the cancellation and return templates (Chinese).
macro_rules! zh_order_block {
    () => {
        r#"{% if order %}
> 买家：{{ order.buyer_username or "—" }}
{% for item in order.items[:10] %}
- {{ item.name }}{% if item.model %}（{{ item.model }}）{% endif %} × {{ item.quantity }}
{% endfor %}
> 金额：{{ order.total_amount | money(order.currency) }}
{% endif %}
> 时间：{{ event.occurred_at | local_time }}"#
    };
}

/// The order lines shared by the cancellation and return templates (English).
macro_rules! en_order_block {
    () => {
        r#"{% if order %}
> Buyer: {{ order.buyer_username or "—" }}
{% for item in order.items[:10] %}
- {{ item.name }}{% if item.model %} ({{ item.model }}){% endif %} × {{ item.quantity }}
{% endfor %}
> Total: {{ order.total_amount | money(order.currency) }}
{% endif %}
> Time: {{ event.occurred_at | local_time }}"#
    };
}

const ZH_ORDER_CANCELLED: &str = concat!(
    r#"### <font color="warning">订单已取消</font>

> 订单号：{{ event.order_sn }}
> 店铺：{{ event.shop_id }}
{% if event.from_status %}
> 取消前状态：{{ event.from_status | status_zh }}
{% endif %}
> 如已打包，请勿发货。
"#,
    zh_order_block!()
);

const ZH_CANCELLATION_REQUESTED: &str = concat!(
    r#"### <font color="warning">买家申请取消订单</font>

> 订单号：{{ event.order_sn }}
> 店铺：{{ event.shop_id }}
> 请尽快在卖家中心同意或拒绝；超时平台将自动处理。
"#,
    zh_order_block!()
);

const ZH_RETURN_REQUESTED: &str = concat!(
    r#"### <font color="warning">买家申请退货/退款</font>

> 订单号：{{ event.order_sn }}
> 店铺：{{ event.shop_id }}
> 请在卖家中心查看退货原因与凭证并及时处理。
"#,
    zh_order_block!()
);

const ZH_LOGISTICS_EXCEPTION: &str = r#"### <font color="warning">物流异常：{{ event.issue | issue_zh }}</font>

> 订单号：{{ event.order_sn }}
> 店铺：{{ event.shop_id }}
{% if event.logistics_status %}
> 物流状态：{{ event.logistics_status }}
{% endif %}
{% for step in event.trail %}
> {{ step.at | local_time }} {{ step.description }}
{% endfor %}
{% if event.days_without_update %}
> 已 {{ event.days_without_update }} 天无物流更新
{% endif %}
{% if event.hours_to_ship_by is not none %}
> 距最晚发货时间不足 {{ event.hours_to_ship_by }} 小时，订单仍未发货
{% endif %}
{% if order and order.shipping_carrier %}
> 物流渠道：{{ order.shipping_carrier }}
{% endif %}
> 时间：{{ event.occurred_at | local_time }}"#;

const ZH_ESCALATION: &str = r#"### <font color="warning">超时未处理</font>

> 事项：{{ event.about }}
> 店铺：{{ event.shop_id }}
> 规则：{{ event.rule }}
{% if event.assignee %}
> 负责人：{{ event.assignee }}
{% endif %}
> 已等待 {{ event.waited_minutes }} 分钟无人确认，请跟进。
> 时间：{{ event.occurred_at | local_time }}"#;

const EN_ORDER_CANCELLED: &str = concat!(
    r#"### <font color="warning">Order cancelled</font>

> Order: {{ event.order_sn }}
> Shop: {{ event.shop_id }}
{% if event.from_status %}
> Status before: {{ event.from_status | status_en }}
{% endif %}
> Do not ship it, even if it is packed.
"#,
    en_order_block!()
);

const EN_CANCELLATION_REQUESTED: &str = concat!(
    r#"### <font color="warning">Buyer asks to cancel</font>

> Order: {{ event.order_sn }}
> Shop: {{ event.shop_id }}
> Accept or reject it in the seller centre soon; the platform decides on its own when time runs out.
"#,
    en_order_block!()
);

const EN_RETURN_REQUESTED: &str = concat!(
    r#"### <font color="warning">Return / refund requested</font>

> Order: {{ event.order_sn }}
> Shop: {{ event.shop_id }}
> Check the reason and evidence in the seller centre and respond in time.
"#,
    en_order_block!()
);

const EN_LOGISTICS_EXCEPTION: &str = r#"### <font color="warning">Shipping problem: {{ event.issue | issue_en }}</font>

> Order: {{ event.order_sn }}
> Shop: {{ event.shop_id }}
{% if event.logistics_status %}
> Logistics status: {{ event.logistics_status }}
{% endif %}
{% for step in event.trail %}
> {{ step.at | local_time }} {{ step.description }}
{% endfor %}
{% if event.days_without_update %}
> No tracking update for {{ event.days_without_update }} days
{% endif %}
{% if event.hours_to_ship_by is not none %}
> Less than {{ event.hours_to_ship_by }} hours to the ship-by date and not shipped yet
{% endif %}
{% if order and order.shipping_carrier %}
> Carrier: {{ order.shipping_carrier }}
{% endif %}
> Time: {{ event.occurred_at | local_time }}"#;

const EN_ESCALATION: &str = r#"### <font color="warning">Not handled in time</font>

> About: {{ event.about }}
> Shop: {{ event.shop_id }}
> Rule: {{ event.rule }}
{% if event.assignee %}
> Assigned to: {{ event.assignee }}
{% endif %}
> Nobody acknowledged it for {{ event.waited_minutes }} minutes; please follow up.
> Time: {{ event.occurred_at | local_time }}"#;
