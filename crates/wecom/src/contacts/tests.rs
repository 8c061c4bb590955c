use serde_json::json;
use shoprelay_clock::ManualClock;

use super::*;

#[test]
fn simplelist_userids_are_lower_cased() {
    let reply = json!({"errcode": 0, "errmsg": "ok", "userlist": [
        {"userid": "ZhangSan", "name": "张三", "department": [1, 2], "open_userid": "x"},
        {"userid": "lisi", "name": "李四", "department": [2]}
    ]});
    assert_eq!(parse_simplelist(&reply).unwrap(), vec!["zhangsan", "lisi"]);
    assert_eq!(parse_simplelist(&json!({"errcode": 0})).unwrap(), Vec::<String>::new());
    assert!(parse_simplelist(&json!({"userlist": [{"name": "no id"}]})).is_err());
}

#[test]
fn a_tag_holds_users_and_departments() {
    let reply = json!({"errcode": 0, "errmsg": "ok", "tagname": "客服",
        "userlist": [{"userid": "WangWu", "name": "王五"}], "partylist": [2, 5]});
    assert_eq!(parse_tag(&reply).unwrap(), (vec!["wangwu".to_owned()], vec![2, 5]));
    let empty = json!({"errcode": 0, "errmsg": "ok", "tagname": "空"});
    assert_eq!(parse_tag(&empty).unwrap(), (Vec::new(), Vec::new()));
}

#[test]
fn memberships_are_kept_until_their_time_to_live() {
    let clock = ManualClock::new(UnixMs::EPOCH);
    let cache = MemberCache::new(clock.shared());
    let key = ("ww".to_owned(), 1000002, Group::Department(2));
    cache.put(key.clone(), Membership::Known(vec!["a".into()]));
    let tag = ("ww".to_owned(), 1000002, Group::Tag(2));
    cache.put(tag.clone(), Membership::Unreadable);
    assert_eq!(
        cache.get(&("ww".to_owned(), 1000003, Group::Department(2))),
        None,
        "per app"
    );
    clock.advance(UNREADABLE_TTL - Duration::from_secs(1));
    assert_eq!(cache.get(&tag), Some(Membership::Unreadable));
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get(&tag), None, "an unreadable group is tried again sooner");
    clock.advance(MEMBERSHIP_TTL - UNREADABLE_TTL - Duration::from_secs(1));
    assert_eq!(cache.get(&key), Some(Membership::Known(vec!["a".into()])));
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get(&key), None, "read again after the TTL");
}
