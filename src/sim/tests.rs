//! The simulator over real HTTP on loopback, as a client sees it: tokens, 401 bodies,
//! pagination, filters, validation, writes, methods, the rate limit and every fault.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{SimConfig, Simulator};

const SEED: &str = include_str!("../../examples/seed/estate.json");
const API: &str = "/api/config/v1";

/// A simulator serving on a free loopback port for the length of a test.
struct Running {
    sim: Simulator,
    root: String,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn seed() -> Value {
    serde_json::from_str(SEED).expect("the seed estate is JSON")
}

fn quiet() -> SimConfig {
    SimConfig {
        rate_limit: false,
        ..SimConfig::default()
    }
}

async fn start(estate: Value, config: SimConfig) -> Running {
    let sim = Simulator::new(estate, config).expect("the estate is accepted");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(sim.clone().serve(listener));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Running {
        sim,
        root,
        http,
        task,
    }
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{API}{path}", self.root)
    }

    async fn token(&self) -> String {
        let r = self
            .http
            .post(format!("{}/oauth2/token", self.root))
            .basic_auth("jumpguard-sim", Some("sim-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("Accept", "application/json");
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.call(Method::GET, token, path, None).await
    }

    /// Status and JSON body (`null` when there is none).
    async fn json(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let r = self.call(method, token, path, body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        (status, value)
    }
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn ids(rows: &Value) -> Vec<i64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

const DENIED: &str = "The resource owner or authorization server denied the request.";

// ---------------------------------------------------------------------------------------------
// Tokens.

#[tokio::test]
async fn tokens_are_issued_for_basic_body_and_json_credentials() {
    let s = start(seed(), quiet()).await;
    let token_url = format!("{}/oauth2/token", s.root);
    let r = s
        .http
        .post(&token_url)
        .basic_auth("jumpguard-sim", Some("sim-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].as_str().unwrap().len() >= 32);

    let in_form = s
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "jumpguard-sim"),
            ("client_secret", "sim-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(in_form.status(), 200);
    let json_basic = s
        .http
        .post(&token_url)
        .basic_auth("jumpguard-sim", Some("sim-secret"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_basic.status(), 200);
    let json_body = s
        .http
        .post(&token_url)
        .json(&json!({"grant_type": "client_credentials", "client_id": "jumpguard-sim", "client_secret": "sim-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 200);

    let wrong = s
        .http
        .post(&token_url)
        .basic_auth("jumpguard-sim", Some("nope"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let grant = s
        .http
        .post(&token_url)
        .basic_auth("jumpguard-sim", Some("sim-secret"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(
        grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let no_grant = s
        .http
        .post(&token_url)
        .basic_auth("jumpguard-sim", Some("sim-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_grant.status(), 400);
    let get = s.http.get(&token_url).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(s.sim.issued_tokens().len(), 4);
}

#[tokio::test]
async fn the_31st_token_evicts_the_oldest() {
    let s = start(seed(), quiet()).await;
    let mut tokens = Vec::new();
    for _ in 0..31 {
        tokens.push(s.token().await);
    }
    let (status, body) = s.json(Method::GET, &tokens[0], "/jump-group", None).await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({"error": "access_denied", "message": DENIED}));
    for t in [&tokens[1], &tokens[30]] {
        assert_eq!(s.get(t, "/jump-group").await.status(), 200);
    }
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused() {
    let s = start(
        seed(),
        SimConfig {
            token_ttl: Duration::from_millis(400),
            ..quiet()
        },
    )
    .await;
    let old = s.token().await;
    assert_eq!(s.get(&old, "/jump-group").await.status(), 200);
    s.sim.faults().revoke_tokens();
    assert_eq!(s.get(&old, "/jump-group").await.status(), 401);
    let fresh = s.token().await;
    assert_eq!(s.get(&fresh, "/jump-group").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, body) = s.json(Method::GET, &fresh, "/jump-group", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "access_denied");
}

#[tokio::test]
async fn requests_without_a_valid_bearer_get_the_vendor_401_body() {
    let s = start(seed(), quiet()).await;
    let bare = s.http.get(s.url("/jump-group")).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    assert_eq!(
        bare.json::<Value>().await.unwrap(),
        json!({"error": "access_denied", "message": DENIED})
    );
    let (status, body) = s.json(Method::GET, "made-up", "/user", None).await;
    assert_eq!((status.as_u16(), &body["message"]), (401, &json!(DENIED)));
    let basic = s
        .http
        .get(s.url("/user"))
        .basic_auth("jumpguard-sim", Some("sim-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
}

// ---------------------------------------------------------------------------------------------
// Lists.

fn many_shell_jumps(n: i64) -> Value {
    let items: Vec<Value> = (1..=n)
        .map(|i| {
            json!({"id": i, "name": format!("host{i:03}"), "jumpoint_id": 1,
                   "hostname": format!("host{i:03}.corp.example"), "protocol": "ssh",
                   "jump_group_id": 1 + i % 2, "tag": if i % 10 == 0 { "Tenth" } else { "other" }})
        })
        .collect();
    json!({"pra": {"jump_item": {"shell-jump": items}}})
}

#[tokio::test]
async fn a_250_item_list_is_served_in_pages_of_100_with_links_and_totals() {
    let s = start(many_shell_jumps(250), quiet()).await;
    let t = s.token().await;
    let first = s.get(&t, "/jump-item/shell-jump").await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-bt-pagination-current-page"), "1");
    assert_eq!(header(&first, "x-bt-pagination-per-page"), "100");
    assert_eq!(header(&first, "x-bt-pagination-last-page"), "3");
    assert_eq!(header(&first, "x-bt-pagination-total"), "250");
    let base = s.url("/jump-item/shell-jump");
    assert_eq!(
        header(&first, "link"),
        format!(
            "<{base}?per_page=100&current_page=1>; rel=\"first\", \
             <{base}?per_page=100&current_page=2>; rel=\"next\", \
             <{base}?per_page=100&current_page=3>; rel=\"last\""
        )
    );

    // Following `next` reads every row once, in order.
    let mut seen = Vec::new();
    let mut next = Some(format!("{base}?per_page=100&current_page=1"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let r = s.http.get(&url).bearer_auth(&t).send().await.unwrap();
        let link = header(&r, "link").to_owned();
        assert!(link.contains("rel=\"first\"") && link.contains("rel=\"last\""));
        assert_eq!(link.contains("rel=\"previous\""), pages > 0, "{link}");
        next = link
            .split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .map(|l| l[1..l.find('>').unwrap()].to_owned());
        seen.extend(ids(&r.json::<Value>().await.unwrap()));
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (1..=250).collect::<Vec<_>>());

    // Past the end: an empty page that still says where the list ends.
    let past = s.get(&t, "/jump-item/shell-jump?current_page=4").await;
    assert_eq!(header(&past, "x-bt-pagination-current-page"), "4");
    assert_eq!(header(&past, "x-bt-pagination-last-page"), "3");
    assert_eq!(header(&past, "x-bt-pagination-total"), "250");
    assert_eq!(past.json::<Value>().await.unwrap(), json!([]));

    // Filters count towards the total and are echoed into every link.
    let r = s
        .get(
            &t,
            "/jump-item/shell-jump?per_page=10&current_page=2&tag=tenth",
        )
        .await;
    assert_eq!(header(&r, "x-bt-pagination-total"), "25");
    assert_eq!(header(&r, "x-bt-pagination-last-page"), "3");
    let link = header(&r, "link").to_owned();
    assert!(link.contains(&format!(
        "<{base}?per_page=10&current_page=1&tag=tenth>; rel=\"first\""
    )));
    assert!(link.contains("current_page=1&tag=tenth>; rel=\"previous\""));
    assert!(link.contains("current_page=3&tag=tenth>; rel=\"next\""));
    assert_eq!(
        ids(&r.json::<Value>().await.unwrap()),
        (11..=20).map(|i| i * 10).collect::<Vec<_>>()
    );

    for bad in [
        "per_page=4",
        "per_page=101",
        "per_page=ten",
        "current_page=0",
    ] {
        let (status, body) = s
            .json(
                Method::GET,
                &t,
                &format!("/jump-item/shell-jump?{bad}"),
                None,
            )
            .await;
        assert_eq!(status, 422, "{bad}");
        assert!(body["errors"].is_object(), "{bad}: {body}");
    }
}

#[tokio::test]
async fn out_of_range_page_sizes_can_be_clamped_instead() {
    let s = start(
        many_shell_jumps(12),
        SimConfig {
            clamp_per_page: true,
            ..quiet()
        },
    )
    .await;
    let t = s.token().await;
    let r = s.get(&t, "/jump-item/shell-jump?per_page=2").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-bt-pagination-per-page"), "5");
    assert_eq!(
        r.json::<Value>().await.unwrap().as_array().unwrap().len(),
        5
    );
}

#[tokio::test]
async fn filters_match_exactly_ignoring_case_and_combine_with_and() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    let list = |q: &'static str| {
        let s = &s;
        let t = &t;
        async move {
            let (status, body) = s.json(Method::GET, t, q, None).await;
            assert_eq!(status, 200, "{q}: {body}");
            ids(&body)
        }
    };
    assert_eq!(
        list("/jump-item/remote-rdp?hostname=SRV-DC01.corp.example").await,
        [101, 118]
    );
    assert_eq!(
        list("/jump-item/remote-rdp?hostname=srv-dc01.corp.example&jump_group_id=4").await,
        [101]
    );
    assert_eq!(
        list("/jump-item/remote-rdp?hostname=srv-dc01").await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list("/jump-item/remote-rdp?tag=TIER0-SQL").await,
        [103, 104]
    );
    assert_eq!(
        list("/jump-item/shell-jump?jump_group_type=personal").await,
        [58]
    );
    assert_eq!(list("/jump-policy?code_name=LINUX-APPROVAL").await, [4]);
    assert_eq!(list("/user?username=ines.moreau").await, [12]);
    assert_eq!(list("/jump-group?name=linux%20production").await, [9]);
    assert_eq!(list("/jump-client?private_ip=10.40.0.22").await, [42]);

    let (status, body) = s
        .json(
            Method::GET,
            &t,
            "/jump-item/remote-rdp?jump_group_id=four",
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["jump_group_id"].is_array());

    // The spec's quirk: an unrecognized query parameter is a 401.
    let (status, body) = s
        .json(Method::GET, &t, "/jump-item/web-jump?hostname=x", None)
        .await;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("hostname"),
        "{body}"
    );
    let (status, _) = s
        .json(
            Method::GET,
            &t,
            "/group-policy/2/jump-group?per_page=10",
            None,
        )
        .await;
    assert_eq!(status, 401, "non-paginated lists take no page parameters");
}

#[tokio::test]
async fn unrecognized_fields_can_be_a_422_instead() {
    let s = start(
        seed(),
        SimConfig {
            unknown_field_status: 422,
            ..quiet()
        },
    )
    .await;
    let t = s.token().await;
    let (status, body) = s
        .json(Method::GET, &t, "/jump-group?colour=red", None)
        .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["colour"].is_array(), "{body}");
    let (status, body) = s
        .json(
            Method::PATCH,
            &t,
            "/jump-group/4",
            Some(json!({"colour": "red"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["colour"].is_array(), "{body}");
    assert!(Simulator::new(
        seed(),
        SimConfig {
            unknown_field_status: 400,
            ..quiet()
        }
    )
    .is_err());
}

#[tokio::test]
async fn rows_are_served_with_documented_defaults_and_without_parent_ids() {
    let s = start(
        json!({"pra": {
            "jump_policy": [{"id": 1, "display_name": "Sparse", "approval_team_ids": [3]}],
            "jump_group": [{"id": 2, "name": "G"}],
            "jump_group_user": [{"jump_group_id": 2, "user_id": 5}],
            "jump_item": {"web-jump": [{"id": 1, "name": "w", "jumpoint_id": 1, "url": "https://x", "jump_group_id": 2}]},
            "jump_client": [{"id": 1, "jump_group_id": 2, "last_connect_timestamp": "2026-11-25T07:12:44Z"}]
        }}),
        quiet(),
    )
    .await;
    let t = s.token().await;
    let (_, policy) = s.json(Method::GET, &t, "/jump-policy/1", None).await;
    assert_eq!(policy["approval_required"], false);
    assert_eq!(policy["approval_max_duration"], 480);
    assert_eq!(policy["approval_approver_scope"], "not_requestor");
    assert_eq!(policy["approval_team_ids"], json!(["3"]));
    let (_, users) = s.json(Method::GET, &t, "/jump-group/2/user", None).await;
    assert_eq!(
        users,
        json!([{"user_id": 5, "jump_item_role_id": null, "jump_policy_id": null}])
    );
    let (_, web) = s.json(Method::GET, &t, "/jump-item/web-jump/1", None).await;
    assert_eq!(web["jump_group_type"], "shared");
    assert_eq!(web["verify_certificate"], true);
    assert_eq!(web["authentication_timeout"], 3);
    let (_, client) = s.json(Method::GET, &t, "/jump-client/1", None).await;
    assert_eq!(
        client["last_connect_timestamp"],
        "2026-11-25T07:12:44+00:00"
    );
    let (status, body) = s.json(Method::GET, &t, "/jump-group/3", None).await;
    assert_eq!(status, 404);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn personal_vault_accounts_are_listed_only_on_request() {
    let s = start(
        json!({"pra": {"vault_account": [
            {"id": 1, "type": "username_password", "name": "shared", "personal": false},
            {"id": 2, "type": "ssh", "name": "mine", "personal": true, "owner_user_id": 12}
        ]}}),
        quiet(),
    )
    .await;
    let t = s.token().await;
    let (_, body) = s.json(Method::GET, &t, "/vault/account", None).await;
    assert_eq!(ids(&body), [1]);
    let (_, body) = s
        .json(
            Method::GET,
            &t,
            "/vault/account?include_personal=true",
            None,
        )
        .await;
    assert_eq!(ids(&body), [1, 2]);
    let (_, body) = s
        .json(
            Method::GET,
            &t,
            "/vault/account?include_personal=1&type=SSH",
            None,
        )
        .await;
    assert_eq!(ids(&body), [2]);
    let (status, _) = s.json(Method::DELETE, &t, "/vault/account/2", None).await;
    assert_eq!(status, 403, "personal accounts cannot be deleted");
}

// ---------------------------------------------------------------------------------------------
// Writes.

fn approval_policy() -> Value {
    json!({"display_name": "Prod approval", "code_name": "prod_approval",
           "approval_required": true, "approval_display_name": "SecOps",
           "approval_user_ids": [12]})
}

#[tokio::test]
async fn jump_policy_rules_are_enforced_with_422_bodies() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    let post = |body: Value| {
        let s = &s;
        let t = &t;
        async move { s.json(Method::POST, t, "/jump-policy", Some(body)).await }
    };
    let mut both = approval_policy();
    both["schedule_enabled"] = json!(true);
    let (status, body) = post(both).await;
    assert_eq!(status, 422);
    assert!(body["message"].is_string());
    assert!(body["errors"]["approval_required"].is_array(), "{body}");
    assert!(body["errors"]["schedule_enabled"].is_array(), "{body}");

    let (status, body) = post(json!({"code_name": "x", "approval_required": true})).await;
    assert_eq!(status, 422);
    for field in [
        "display_name",
        "approval_display_name",
        "approval_user_ids",
        "approval_team_ids",
        "approval_email_addresses",
    ] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }
    assert!(
        body["message"].as_str().unwrap().contains("more error"),
        "{body}"
    );

    let mut bad_code = approval_policy();
    bad_code["code_name"] = json!("prod approval");
    let (status, body) = post(bad_code).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"]["code_name"],
        json!(["The code name field format is invalid."])
    );
    let mut taken = approval_policy();
    taken["code_name"] = json!("Linux-Approval");
    let (_, body) = post(taken).await;
    assert_eq!(
        body["errors"]["code_name"],
        json!(["The code name has already been taken."])
    );
    let mut stringly = approval_policy();
    stringly["approval_max_duration"] = json!("480");
    let (status, body) = post(stringly).await;
    assert_eq!(status, 422);
    assert!(body["errors"]["approval_max_duration"].is_array());

    // Approval on a policy whose schedule is explicitly on (the seed's policy 5).
    let (status, body) = s
        .json(
            Method::PATCH,
            &t,
            "/jump-policy/5",
            Some(json!({"approval_required": true, "approval_display_name": "A", "approval_team_ids": ["1"]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // Approval alone, with the schedule left to its default, is fine.
    let (status, body) = post(approval_policy()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["approval_user_ids"], json!(["12"]));
    assert_eq!(body["schedule_enabled"], false);
}

#[tokio::test]
async fn creates_answer_201_with_location_and_per_type_ids() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    let r = s
        .call(
            Method::POST,
            &t,
            "/jump-group",
            Some(json!({"name": "Linux Staging", "code_name": "linux_staging"})),
        )
        .await;
    assert_eq!(r.status(), 201);
    let location = header(&r, "location").to_owned();
    assert_eq!(location, s.url("/jump-group/13"));
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["id"], 13);
    let again: Value = s
        .http
        .get(&location)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, created);

    let shell = json!({"name": "stg01", "hostname": "stg01.corp.example", "protocol": "ssh",
                       "jumpoint_id": 2, "jump_group_id": 13});
    let (status, item) = s
        .json(
            Method::POST,
            &t,
            "/jump-item/shell-jump",
            Some(shell.clone()),
        )
        .await;
    assert_eq!(status, 201, "{item}");
    assert_eq!(item["id"], 59, "one past the highest shell jump id");
    assert_eq!(item["port"], 22);
    assert_eq!(item["jump_group_type"], "shared");
    assert_eq!(item["jump_policy_id"], Value::Null);
    let rdp = json!({"name": "stg02", "hostname": "stg02.corp.example", "jumpoint_id": 1, "jump_group_id": 13});
    let (_, item) = s
        .json(Method::POST, &t, "/jump-item/remote-rdp", Some(rdp))
        .await;
    assert_eq!(item["id"], 119, "remote-rdp ids count on their own");

    let (status, body) = s
        .json(
            Method::POST,
            &t,
            "/jump-item/shell-jump",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 422);
    for field in ["jumpoint_id", "hostname", "protocol", "jump_group_id"] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }
    let mut dangling = shell.clone();
    dangling["jumpoint_id"] = json!(99);
    let (status, body) = s
        .json(Method::POST, &t, "/jump-item/shell-jump", Some(dangling))
        .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["jumpoint_id"].is_array());
    let mut unknown = shell;
    unknown["colour"] = json!("red");
    let (status, _) = s
        .json(Method::POST, &t, "/jump-item/shell-jump", Some(unknown))
        .await;
    assert_eq!(status, 401, "unrecognized body fields are the spec's 401");

    let (status, patched) = s
        .json(
            Method::PATCH,
            &t,
            "/jump-item/shell-jump/59",
            Some(json!({"jump_policy_id": 4, "id": 1000})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (patched["id"].as_i64(), patched["jump_policy_id"].as_i64()),
        (Some(59), Some(4))
    );
    assert_eq!(patched["hostname"], "stg01.corp.example");

    let snapshot = s.sim.pra_snapshot();
    assert!(snapshot["jump_group"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == 13));

    let (status, body) = s.json(Method::DELETE, &t, "/jump-group/13", None).await;
    assert_eq!((status.as_u16(), body), (204, Value::Null));
    let (_, left) = s
        .json(
            Method::GET,
            &t,
            "/jump-item/shell-jump?jump_group_id=13",
            None,
        )
        .await;
    assert_eq!(left, json!([]), "deleting a group deletes its items");
    let (status, _) = s.json(Method::DELETE, &t, "/jump-group/13", None).await;
    assert_eq!(status, 404);
    assert!(!s.sim.pra_snapshot()["jump_item"]["remote-rdp"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == 119));
}

#[tokio::test]
async fn copies_are_independent_items_in_another_group() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    let (status, body) = s
        .json(
            Method::POST,
            &t,
            "/jump-item/remote-rdp/101/copy",
            Some(json!({"jump_group_id": 9, "jump_group_type": "shared", "name": "SRV-DC01 (Linux team)"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"action": "copy", "success": "1", "destId": 119})
    );
    let (_, copy) = s
        .json(Method::GET, &t, "/jump-item/remote-rdp/119", None)
        .await;
    assert_eq!(copy["jump_group_id"], 9);
    assert_eq!(copy["hostname"], "srv-dc01.corp.example");
    assert_eq!(copy["jump_policy_id"], 3);
    let (_, original) = s
        .json(Method::GET, &t, "/jump-item/remote-rdp/101", None)
        .await;
    assert_eq!(original["jump_group_id"], 4);

    let (status, body) = s
        .json(
            Method::POST,
            &t,
            "/jump-item/remote-rdp/101/copy",
            Some(json!({"jump_group_id": 99, "jump_group_type": "shared", "name": "x"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["jump_group_id"].is_array());
    let (status, _) = s
        .json(
            Method::POST,
            &t,
            "/jump-item/remote-rdp/101/copy",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, body) = s
        .json(
            Method::POST,
            &t,
            "/jump-client/41/copy",
            Some(json!({"jump_group_id": 21, "jump_group_type": "personal", "name": "mine"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["destId"], 43);
    let (status, _) = s
        .json(
            Method::POST,
            &t,
            "/jump-item/remote-rdp/555/copy",
            Some(json!({"jump_group_id": 9, "jump_group_type": "shared", "name": "x"})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn memberships_of_jump_groups_and_group_policies() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    let r = s
        .call(
            Method::POST,
            &t,
            "/group-policy/2/jump-group",
            Some(json!({"jump_group_id": 9, "jump_policy_id": 4})),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert!(
        r.text().await.unwrap().is_empty(),
        "documented without a body"
    );
    let list = s.get(&t, "/group-policy/2/jump-group").await;
    assert!(list.headers().get("x-bt-pagination-total").is_none());
    assert_eq!(
        list.json::<Value>().await.unwrap(),
        json!([
            {"jump_group_id": 4, "jump_item_role_id": 0, "jump_policy_id": 0},
            {"jump_group_id": 7, "jump_item_role_id": 0, "jump_policy_id": 0},
            {"jump_group_id": 9, "jump_item_role_id": 0, "jump_policy_id": 4}
        ])
    );
    let (status, body) = s
        .json(
            Method::POST,
            &t,
            "/group-policy/2/jump-group",
            Some(json!({"jump_group_id": 9})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = s
        .json(
            Method::PATCH,
            &t,
            "/group-policy/2/jump-group/9",
            Some(json!({"jump_policy_id": 0})),
        )
        .await;
    assert_eq!(status, 405);
    let (status, _) = s
        .json(Method::DELETE, &t, "/group-policy/2/jump-group/9", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = s
        .json(Method::POST, &t, "/group-policy/2/provision", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = s
        .json(Method::POST, &t, "/group-policy/99/provision", None)
        .await;
    assert_eq!(status, 404);

    let r = s
        .call(
            Method::POST,
            &t,
            "/jump-group/4/user",
            Some(json!({"user_id": 14})),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(header(&r, "location"), s.url("/jump-group/4/user/14"));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"user_id": 14, "jump_item_role_id": null, "jump_policy_id": null})
    );
    let (status, body) = s
        .json(
            Method::PATCH,
            &t,
            "/jump-group/4/user/14",
            Some(json!({"jump_policy_id": 3})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["jump_policy_id"], 3);
    let snapshot = s.sim.pra_snapshot();
    assert!(snapshot["jump_group_user"].as_array().unwrap().contains(
        &json!({"jump_group_id": 4, "user_id": 14, "jump_item_role_id": null, "jump_policy_id": 3})
    ));
    let (status, _) = s
        .json(Method::DELETE, &t, "/jump-group/4/user/14", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = s.json(Method::GET, &t, "/jump-group/4/user/14", None).await;
    assert_eq!(status, 404);
    let (status, _) = s.json(Method::GET, &t, "/jump-group/99/user", None).await;
    assert_eq!(status, 404);
    let (status, body) = s
        .json(
            Method::POST,
            &t,
            "/jump-group/4/user",
            Some(json!({"user_id": 999})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["user_id"].is_array());
}

#[tokio::test]
async fn group_policies_normalize_jump_permissions() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    let (status, body) = s
        .json(
            Method::POST,
            &t,
            "/group-policy",
            Some(json!({"name": "Contractors", "perm_remote_rdp": true})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["access_perm_status"], "defined");
    assert_eq!(body["perm_remote_rdp"], false, "access is not allowed");
    let (_, body) = s
        .json(
            Method::PATCH,
            &t,
            &format!("/group-policy/{}", body["id"]),
            Some(json!({"perm_access_allowed": true, "perm_remote_rdp": true})),
        )
        .await;
    assert_eq!(body["perm_remote_rdp"], true);
}

#[tokio::test]
async fn schedules_are_read_only_and_default_to_no_entries() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    let (status, body) = s
        .json(Method::GET, &t, "/jump-policy/5/schedule", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["entries"].as_array().unwrap().len(), 5);
    let (_, body) = s
        .json(Method::GET, &t, "/jump-policy/3/schedule", None)
        .await;
    assert_eq!(body, json!({"entries": []}));
    let (status, _) = s
        .json(Method::GET, &t, "/jump-policy/99/schedule", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = s
        .json(
            Method::PATCH,
            &t,
            "/jump-policy/5/schedule",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn head_options_and_unsupported_methods() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    let head = s
        .call(Method::HEAD, &t, "/jump-item/remote-rdp", None)
        .await;
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "x-bt-pagination-total"), "5");
    assert!(head.bytes().await.unwrap().is_empty());
    let options = s.call(Method::OPTIONS, &t, "/jump-group", None).await;
    assert_eq!(options.status(), 200);
    assert_eq!(header(&options, "allow"), "GET,HEAD,POST");
    let options = s.call(Method::OPTIONS, &t, "/jump-group/4", None).await;
    assert_eq!(header(&options, "allow"), "GET,HEAD,PATCH,DELETE");
    let put = s
        .call(Method::PUT, &t, "/jump-group/4", Some(json!({})))
        .await;
    assert_eq!(put.status(), 405);
    assert_eq!(header(&put, "allow"), "GET,HEAD,PATCH,DELETE");
    let (status, _) = s.json(Method::DELETE, &t, "/jump-item-role/1", None).await;
    assert_eq!(status, 405);
    let (status, _) = s
        .json(Method::POST, &t, "/jump-client", Some(json!({})))
        .await;
    assert_eq!(
        status, 405,
        "jump clients are never created through the API"
    );
    let (status, _) = s.json(Method::GET, &t, "/session-policy/2", None).await;
    assert_eq!(status, 404, "session policies are list-only");
    let (status, body) = s.json(Method::GET, &t, "/no-such-thing", None).await;
    assert_eq!(status, 404);
    assert!(body["message"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Rate limit and faults.

#[tokio::test]
async fn the_rate_limit_refuses_more_than_20_requests_in_a_second() {
    let s = start(seed(), SimConfig::default()).await;
    let t = s.token().await;
    let started = Instant::now();
    let responses = futures_util::future::join_all(
        (0..30).map(|_| s.http.get(s.url("/team")).bearer_auth(&t).send()),
    )
    .await;
    let span = started.elapsed();
    let mut ok = 0;
    let mut throttled = 0;
    for r in responses {
        let r = r.unwrap();
        assert_eq!(header(&r, "x-ratelimit-limit"), "15000");
        let remaining: u64 = header(&r, "x-ratelimit-remaining").parse().unwrap();
        match r.status().as_u16() {
            200 => {
                ok += 1;
                assert!(remaining < 15000);
            }
            429 => {
                throttled += 1;
                assert_eq!(remaining, 0);
                assert!(header(&r, "retry-after").parse::<u64>().unwrap() >= 1);
                assert!(r.json::<Value>().await.unwrap()["message"].is_string());
            }
            other => panic!("unexpected {other}"),
        }
    }
    // Admissions happen inside the span, so a span under a second admits at most 20.
    if span < Duration::from_secs(1) {
        assert!(ok <= 20, "{ok} admitted in {span:?}");
        assert!(throttled >= 10, "{throttled} throttled in {span:?}");
    }
    assert_eq!(ok + throttled, 30);
}

#[tokio::test]
async fn forced_429s_come_with_retry_after_even_without_the_limit() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    s.sim.faults().force_429(2);
    for _ in 0..2 {
        let r = s.get(&t, "/jump-group").await;
        assert_eq!(r.status(), 429);
        assert_eq!(header(&r, "retry-after"), "1");
        assert_eq!(header(&r, "x-ratelimit-limit"), "15000");
        assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
    }
    let r = s.get(&t, "/jump-group").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("x-ratelimit-limit").is_none(),
        "limit off: no headers"
    );
}

#[tokio::test]
async fn failed_paths_answer_their_status_as_often_as_asked() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;
    s.sim
        .faults()
        .fail_path("/api/config/v1/jump-group", 500, 2);
    for _ in 0..2 {
        let (status, body) = s.json(Method::GET, &t, "/jump-group/4/user", None).await;
        assert_eq!(status, 500);
        assert!(body["message"].is_string());
    }
    assert_eq!(s.get(&t, "/jump-group").await.status(), 200);
    s.sim.faults().fail_path("/oauth2/token", 503, u32::MAX);
    for _ in 0..3 {
        let r = s
            .http
            .post(format!("{}/oauth2/token", s.root))
            .basic_auth("jumpguard-sim", Some("sim-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
    }
}

#[tokio::test]
async fn delays_truncated_pages_and_dropped_connections() {
    let s = start(seed(), quiet()).await;
    let t = s.token().await;

    s.sim.faults().set_delay(300);
    let started = Instant::now();
    assert_eq!(s.get(&t, "/team").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    s.sim.faults().set_delay(0);

    s.sim.faults().truncate_pages(true);
    let r = s.get(&t, "/jump-item/remote-rdp").await;
    assert_eq!(header(&r, "x-bt-pagination-total"), "5");
    assert_eq!(ids(&r.json::<Value>().await.unwrap()), [101, 102, 103, 104]);
    s.sim.faults().truncate_pages(false);
    let r = s.get(&t, "/jump-item/remote-rdp").await;
    assert_eq!(ids(&r.json::<Value>().await.unwrap()).len(), 5);

    s.sim
        .faults()
        .drop_connections("/api/config/v1/jump-group", 1);
    let broken = match s
        .http
        .get(s.url("/jump-group"))
        .bearer_auth(&t)
        .send()
        .await
    {
        Err(e) => e,
        Ok(r) => r.bytes().await.expect_err("the body breaks off"),
    };
    assert!(
        !broken.is_status(),
        "a transport error, not a status: {broken}"
    );
    assert_eq!(s.get(&t, "/jump-group").await.status(), 200);
}

#[tokio::test]
async fn every_request_is_counted() {
    let s = start(seed(), quiet()).await;
    assert_eq!(s.sim.request_count(), 0);
    let t = s.token().await;
    s.get(&t, "/jump-group").await;
    s.get("bad", "/jump-group").await;
    s.get(&t, "/nothing").await;
    assert_eq!(s.sim.request_count(), 4);
}
