//! The Password Safe half of the simulator over real HTTP on loopback, as a client sees it:
//! sign-in in both styles, cookies, sessions and their end, response shapes, paging, the role
//! writes, `PUT ManagedAccounts`, what is UI-only, and faults.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{SimConfig, Simulator};

const SEED: &str = include_str!("../../examples/seed/estate.json");
const PS: &str = "/BeyondTrust/api/public/v3";
const NOT_AUTHENTICATED: &str = "User not authenticated";

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

/// The seed, with the default run-as user a member of Server Admins (Requestor on smart rule
/// 1, the Windows Tier 0 accounts).
fn seed_with_member() -> Value {
    let mut estate = seed();
    estate["ps"]["user_group_users"] =
        json!([{"GroupID": 3, "UserID": 77, "UserName": "jumpguard"}]);
    estate
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

fn key_header(config: &SimConfig) -> String {
    format!(
        "PS-Auth key={}; runas={};",
        config.ps_api_key, config.ps_runas
    )
}

/// The `Cookie` header a client builds from a sign-in's `Set-Cookie` lines: the `name=value`
/// pairs, attributes stripped, in one header.
fn cookie_header(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

async fn decode(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    (status, value)
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{PS}/{path}", self.root)
    }

    async fn sign_in_with(&self, authorization: &str) -> reqwest::Response {
        self.http
            .post(self.url("Auth/SignAppin"))
            .header(AUTHORIZATION, authorization)
            .send()
            .await
            .unwrap()
    }

    /// Signs in with the configured API key; the `Cookie` header of the session.
    async fn session(&self, config: &SimConfig) -> String {
        let r = self.sign_in_with(&key_header(config)).await;
        assert_eq!(r.status(), 200);
        cookie_header(&r)
    }

    async fn call(
        &self,
        method: Method,
        cookie: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if !cookie.is_empty() {
            req = req.header(COOKIE, cookie);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        decode(req.send().await.unwrap()).await
    }

    async fn get(&self, cookie: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, cookie, path, None).await
    }
}

fn ids(rows: &Value, field: &str) -> Vec<i64> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not an array: {rows}"))
        .iter()
        .map(|r| r[field].as_i64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Signing in.

#[tokio::test]
async fn an_api_key_signs_in_in_every_header_spelling_clients_use() {
    let config = SimConfig::default();
    let key = config.ps_api_key.clone();
    let s = start(seed(), config).await;
    for header in [
        format!("PS-Auth key={key}; runas=jumpguard;"),
        format!("PS-Auth key={key};runas=jumpguard;"),
        format!("PS-Auth key={key}"),
        format!("ps-auth  key = {key} ;runas= JUMPGUARD ; pwd=[not needed]"),
    ] {
        let r = s.sign_in_with(&header).await;
        assert_eq!(r.status(), 200, "{header}");
        let (_, user) = decode(r).await;
        assert_eq!(user["UserName"], "jumpguard", "{header}");
        for field in ["UserId", "SID", "EmailAddress", "Name"] {
            assert!(user.get(field).is_some(), "{field} missing from {user}");
        }
    }
    for header in [
        "PS-Auth key=wrong; runas=jumpguard;".to_owned(),
        format!("PS-Auth key={key}; runas=someone-else;"),
        "PS-Auth runas=jumpguard;".to_owned(),
        format!("Basic {key}"),
    ] {
        let (status, body) = decode(s.sign_in_with(&header).await).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!(NOT_AUTHENTICATED)),
            "{header}"
        );
    }
    let r = s.http.post(s.url("Auth/SignAppin")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = s.http.get(s.url("Auth/SignAppin")).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn a_registration_that_requires_the_password_refuses_a_sign_in_without_it() {
    let config = SimConfig {
        ps_password: Some("p;a]ss".into()),
        ..SimConfig::default()
    };
    let key = config.ps_api_key.clone();
    let s = start(seed(), config).await;
    for header in [
        format!("PS-Auth key={key}; runas=jumpguard;"),
        format!("PS-Auth key={key}; runas=jumpguard; pwd=[wrong];"),
    ] {
        assert_eq!(s.sign_in_with(&header).await.status(), 401, "{header}");
    }
    let r = s
        .sign_in_with(&format!(
            "PS-Auth key={key}; runas=jumpguard; pwd=[p;a]ss];"
        ))
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn an_oauth_token_signs_in_as_the_application_user() {
    let s = start(seed(), SimConfig::default()).await;
    let r = s
        .http
        .post(s.url("Auth/connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "jumpguard-sim-ps"),
            ("client_secret", "sim-ps-secret"),
        ])
        .send()
        .await
        .unwrap();
    let (status, token) = decode(r).await;
    assert_eq!(status, 200);
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    assert!(token["scope"].is_string());
    let access = token["access_token"].as_str().unwrap();

    let r = s.sign_in_with(&format!("Bearer {access}")).await;
    assert_eq!(r.status(), 200);
    let cookie = cookie_header(&r);
    assert_eq!(decode(r).await.1["UserName"], "jumpguard-sim-ps");
    assert_eq!(s.get(&cookie, "ManagedSystems").await.0, 200);
    assert!(s.sim.issued_ps_secrets().contains(&access.to_owned()));

    assert_eq!(s.sign_in_with("Bearer not-a-token").await.status(), 401);
    let refused = |form: Vec<(&'static str, &'static str)>| {
        let request = s.http.post(s.url("Auth/connect/token")).form(&form);
        async move { decode(request.send().await.unwrap()).await }
    };
    let (status, body) = refused(vec![
        ("grant_type", "client_credentials"),
        ("client_id", "jumpguard-sim-ps"),
        ("client_secret", "wrong"),
    ])
    .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_client"))
    );
    let (status, body) = refused(vec![
        ("grant_type", "password"),
        ("client_id", "jumpguard-sim-ps"),
        ("client_secret", "sim-ps-secret"),
    ])
    .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn sign_in_sets_both_cookies_and_one_cookie_header_carries_the_session() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let r = s.sign_in_with(&key_header(&config)).await;
    let set: Vec<String> = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(set.len(), 2, "{set:?}");
    assert!(set[0].starts_with("ASP.NET_SessionId="), "{set:?}");
    assert!(
        set[0].ends_with("; path=/; secure; HttpOnly; SameSite=None"),
        "{set:?}"
    );
    assert!(set[1].starts_with("__RequestVerificationToken="), "{set:?}");
    assert!(set[1].ends_with("; path=/; secure; HttpOnly"), "{set:?}");
    let cookie = cookie_header(&r);

    assert_eq!(s.get(&cookie, "ManagedSystems").await.0, 200);
    // The Authorization header sent again on every call, as BeyondTrust's Python library does.
    let r = s
        .http
        .get(s.url("ManagedSystems"))
        .header(COOKIE, &cookie)
        .header(AUTHORIZATION, key_header(&config))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Half a session, a wrong verification token, or the pair split over two headers: 401.
    let (session, verification) = cookie.split_once("; ").unwrap();
    for broken in [
        session.to_owned(),
        verification.to_owned(),
        format!("{session}; __RequestVerificationToken=forged"),
    ] {
        let (status, body) = s.get(&broken, "ManagedSystems").await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!(NOT_AUTHENTICATED))
        );
    }
    let r = s
        .http
        .get(s.url("ManagedSystems"))
        .header(COOKIE, session)
        .header(COOKIE, verification)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn calls_without_a_session_get_401_with_the_vendor_body() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let cases = [
        s.http.get(s.url("ManagedSystems")),
        s.http.get(s.url("ManagedSystems")).header(
            COOKIE,
            "ASP.NET_SessionId=abc; __RequestVerificationToken=def",
        ),
        // Credentials without a session are not a session.
        s.http
            .get(s.url("ManagedSystems"))
            .header(AUTHORIZATION, key_header(&config)),
    ];
    for request in cases {
        let r = request.send().await.unwrap();
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        assert_eq!(
            decode(r).await,
            (StatusCode::UNAUTHORIZED, json!(NOT_AUTHENTICATED))
        );
    }
}

#[tokio::test]
async fn a_session_ends_after_its_idle_timeout_and_activity_extends_it() {
    let config = SimConfig {
        ps_session_idle: Duration::from_millis(1000),
        ..SimConfig::default()
    };
    let s = start(seed(), config.clone()).await;
    let cookie = s.session(&config).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.get(&cookie, "Roles").await.0, 200);
    // 1.2 s after sign-in, but only 0.6 s after the last call.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.get(&cookie, "Roles").await.0, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        s.get(&cookie, "Roles").await,
        (StatusCode::UNAUTHORIZED, json!(NOT_AUTHENTICATED))
    );
    let fresh = s.session(&config).await;
    assert_eq!(s.get(&fresh, "Roles").await.0, 200);
}

#[tokio::test]
async fn expire_ps_sessions_ends_every_session() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let first = s.session(&config).await;
    let second = s.session(&config).await;
    assert_ne!(first, second);
    s.sim.faults().expire_ps_sessions();
    for cookie in [&first, &second] {
        assert_eq!(s.get(cookie, "Roles").await.0, 401);
    }
    let again = s.session(&config).await;
    assert_eq!(s.get(&again, "Roles").await.0, 200);
}

#[tokio::test]
async fn signout_ends_only_its_own_session() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let mine = s.session(&config).await;
    let other = s.session(&config).await;
    assert_eq!(
        s.call(Method::POST, &mine, "Auth/Signout", None).await,
        (StatusCode::OK, Value::Null)
    );
    assert_eq!(s.get(&mine, "Roles").await.0, 401);
    assert_eq!(
        s.call(Method::POST, &mine, "Auth/Signout", None).await.0,
        401
    );
    assert_eq!(s.get(&other, "Roles").await.0, 200);
    let secrets = s.sim.issued_ps_secrets();
    assert_eq!(
        secrets.len(),
        4,
        "two session ids and two verification tokens"
    );
    assert!(secrets
        .iter()
        .all(|secret| mine.contains(secret.as_str()) || other.contains(secret.as_str())));
}

#[tokio::test]
async fn paths_and_parameter_names_ignore_case_and_unknown_parameters_are_ignored() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let r = s
        .http
        .post(format!(
            "{}/beyondtrust/API/Public/V3/auth/signappin",
            s.root
        ))
        .header(AUTHORIZATION, key_header(&config))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = cookie_header(&r);
    let r = s
        .http
        .get(format!(
            "{}/BEYONDTRUST/api/public/v3/managedSYSTEMS/?LIMIT=2&Offset=1&bogus=1&version=3.1",
            s.root
        ))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let (status, page) = decode(r).await;
    assert_eq!(status, 200);
    assert_eq!(page["TotalCount"], 7);
    assert_eq!(ids(&page["Data"], "ManagedSystemID"), [2, 3]);
    let (status, account) = s.get(&cookie, "managedaccounts/1").await;
    assert_eq!(
        (status, &account["ManagedAccountID"]),
        (StatusCode::OK, &json!(1))
    );
    let (status, body) = s.get(&cookie, "ManagedAccount").await;
    assert_eq!(status, 404);
    assert!(body.is_string(), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Reads.

#[tokio::test]
async fn lists_are_bare_arrays_without_limit_and_total_count_and_data_with_it() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let c = s.session(&config).await;

    let (_, all) = s.get(&c, "ManagedSystems").await;
    assert_eq!(ids(&all, "ManagedSystemID"), [1, 2, 3, 4, 11, 12, 13]);
    let (_, page) = s.get(&c, "ManagedSystems?limit=3").await;
    assert_eq!(page["TotalCount"], 7);
    assert_eq!(ids(&page["Data"], "ManagedSystemID"), [1, 2, 3]);
    let (_, last) = s.get(&c, "ManagedSystems?limit=3&offset=6").await;
    assert_eq!(ids(&last["Data"], "ManagedSystemID"), [13]);
    let (_, by_name) = s.get(&c, "ManagedSystems?name=srv-sql02").await;
    assert_eq!(ids(&by_name, "ManagedSystemID"), [4]);
    let (_, system) = s.get(&c, "ManagedSystems/11").await;
    assert_eq!(system["HostName"], "lnx-app01.corp.example");

    // The administrator's view of a system's accounts, with ApiEnabled.
    let (_, accounts) = s.get(&c, "ManagedSystems/3/ManagedAccounts").await;
    assert_eq!(ids(&accounts, "ManagedAccountID"), [3, 5]);
    assert_eq!(accounts[1]["ApiEnabled"], false);
    assert_eq!(accounts[1]["ManagedSystemID"], 3);
    let (_, page) = s.get(&c, "ManagedSystems/3/ManagedAccounts?offset=1").await;
    assert_eq!(page["TotalCount"], 2);
    assert_eq!(ids(&page["Data"], "ManagedAccountID"), [5]);

    let (_, rules) = s.get(&c, "SmartRules").await;
    assert_eq!(ids(&rules, "SmartRuleID"), [1, 2, 3]);
    assert!(rules[0].get("_managed_account_ids").is_none());
    let (_, members) = s.get(&c, "SmartRules/1/ManagedAccounts").await;
    assert_eq!(ids(&members, "ManagedAccountID"), [1, 2, 3, 4, 5, 6]);
    let (_, page) = s
        .get(&c, "SmartRules/1/ManagedAccounts?limit=4&offset=4")
        .await;
    assert_eq!(page["TotalCount"], 6);
    assert_eq!(ids(&page["Data"], "ManagedAccountID"), [5, 6]);
    let (_, page) = s.get(&c, "SmartRules?limit=2").await;
    assert_eq!(page["TotalCount"], 3);

    assert_eq!(
        s.get(&c, "SmartRules/9/ManagedAccounts").await,
        (StatusCode::NOT_FOUND, json!("Smart Rule not found"))
    );
    assert_eq!(
        s.get(&c, "ManagedSystems/99").await,
        (StatusCode::NOT_FOUND, json!("Managed System not found"))
    );
    let (status, body) = s.get(&c, "ManagedSystems?limit=0").await;
    assert_eq!(status, 400);
    assert!(body.is_string());
    let (status, _) = s.get(&c, "ManagedSystems?offset=-1").await;
    assert_eq!(status, 400);
}

/// One system with `n` API-enabled accounts, all in one smart rule on which the default run-as
/// user's group is Requestor.
fn many_accounts(n: i64) -> Value {
    let accounts: Vec<Value> = (1..=n)
        .map(|i| json!({"ManagedAccountID": i, "ManagedSystemID": 1, "AccountName": format!("svc{i:04}"), "ApiEnabled": true}))
        .collect();
    json!({"pra": {}, "ps": {
        "managed_systems": [{"ManagedSystemID": 1, "SystemName": "big", "HostName": "big.corp.example"}],
        "managed_accounts": accounts,
        "smart_rules": [{"SmartRuleID": 1, "Title": "All", "_managed_account_ids": (1..=n).collect::<Vec<_>>()}],
        "user_groups": [{"GroupID": 1, "Name": "Requesters", "IsActive": true}],
        "user_group_users": [{"GroupID": 1, "UserID": 5, "UserName": "jumpguard"}],
        "role_assignments": [{"UserGroupID": 1, "SmartRuleID": 1, "Roles": [{"RoleID": 1, "Name": "Requestor"}], "AccessPolicyID": 1}],
        "access_policies": [{"AccessPolicyID": 1, "Name": "P", "Schedules": []}]
    }})
}

#[tokio::test]
async fn requestable_accounts_stop_silently_at_1000_unless_paged() {
    let config = SimConfig::default();
    let s = start(many_accounts(1200), config.clone()).await;
    let c = s.session(&config).await;
    let (_, first) = s.get(&c, "ManagedAccounts").await;
    assert_eq!(
        first.as_array().unwrap().len(),
        1000,
        "a bare array, cut at 1000"
    );
    assert_eq!(first[0]["AccountId"], 1);
    assert_eq!(first[0]["SystemId"], 1);
    assert!(first[0].get("ManagedAccountID").is_none());
    let (_, rest) = s.get(&c, "ManagedAccounts?limit=1000&offset=1000").await;
    assert_eq!(ids(&rest, "AccountId"), (1001..=1200).collect::<Vec<_>>());
    let (_, all) = s.get(&c, "ManagedAccounts?limit=5000").await;
    assert_eq!(all.as_array().unwrap().len(), 1200);
}

#[tokio::test]
async fn an_exact_system_and_account_name_answers_one_object() {
    let config = SimConfig::default();
    let s = start(seed_with_member(), config.clone()).await;
    let c = s.session(&config).await;
    let (status, account) = s
        .get(
            &c,
            "ManagedAccounts?systemName=srv-dc01&accountName=ADMINISTRATOR",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(account["AccountId"], 1);
    assert_eq!(account["SystemName"], "SRV-DC01");
    assert_eq!(account["IsISAAccess"], false);
    let (_, listed) = s.get(&c, "ManagedAccounts?systemName=SRV-DC01").await;
    assert_eq!(ids(&listed, "AccountId"), [1]);
    // Requestable means API-enabled and in a smart rule the caller's group may request.
    let (_, all) = s.get(&c, "ManagedAccounts").await;
    assert_eq!(ids(&all, "AccountId"), [1, 2, 3, 4]);
    assert_eq!(
        s.get(&c, "ManagedAccounts?systemName=SRV-SQL01&accountName=sa")
            .await,
        (StatusCode::NOT_FOUND, json!("Managed Account not found"))
    );

    // A user in no group may request nothing.
    let plain = start(seed(), config.clone()).await;
    let c = plain.session(&config).await;
    assert_eq!(
        plain.get(&c, "ManagedAccounts").await,
        (StatusCode::OK, json!([]))
    );
}

#[tokio::test]
async fn user_groups_members_smart_rules_roles_and_lookups() {
    let config = SimConfig::default();
    let mut estate = seed_with_member();
    estate["ps"]["api_registrations"] = json!([{"Id": 3, "Name": "Secure Remote Access Integration", "RegistrationType": "apikeypolicy", "Active": true, "UserPasswordRequired": false}]);
    let s = start(estate, config.clone()).await;
    let c = s.session(&config).await;
    let (_, groups) = s.get(&c, "UserGroups").await;
    assert_eq!(ids(&groups, "GroupID"), [1, 2, 3, 4, 5, 6]);
    let (_, group) = s.get(&c, "UserGroups?name=server ADMINS").await;
    assert_eq!(group["GroupID"], 3);
    assert_eq!(s.get(&c, "UserGroups?name=nobody").await.0, 404);
    assert_eq!(
        s.get(&c, "UserGroups/6").await.1["Name"],
        "Windows Infra Leads"
    );
    assert_eq!(
        s.get(&c, "UserGroups/3/Users").await.1,
        json!([{"UserID": 77, "UserName": "jumpguard"}])
    );
    assert_eq!(s.get(&c, "UserGroups/4/Users").await.1, json!([]));
    assert_eq!(s.get(&c, "UserGroups/99/Users").await.0, 404);
    let (_, rules) = s.get(&c, "UserGroups/5/SmartRules").await;
    assert_eq!(ids(&rules, "SmartRuleID"), [3]);
    assert_eq!(
        s.get(&c, "UserGroups/4/SmartRules/2/Roles").await.1,
        json!([{"RoleID": 4, "Name": "ISA"}])
    );
    assert_eq!(
        s.get(&c, "UserGroups/4/SmartRules/1/Roles").await.1,
        json!([])
    );
    // Derived: the seed's roles plus the product's Auditor.
    assert_eq!(
        s.get(&c, "Roles").await.1,
        json!([
            {"RoleID": 1, "Name": "Requestor"},
            {"RoleID": 2, "Name": "Approver"},
            {"RoleID": 3, "Name": "Requestor/Approver"},
            {"RoleID": 4, "Name": "ISA"},
            {"RoleID": 5, "Name": "Auditor"}
        ])
    );
    let (_, policies) = s.get(&c, "AccessPolicies").await;
    assert_eq!(ids(&policies, "AccessPolicyID"), [1, 2, 3]);
    assert!(policies[0]["Schedules"][0]["AccessTypes"].is_array());
    assert_eq!(
        ids(&s.get(&c, "TicketSystems").await.1, "TicketSystemID"),
        [1]
    );
    assert_eq!(ids(&s.get(&c, "ApiRegistrations").await.1, "Id"), [3]);
    assert_eq!(
        s.get(&c, "ApiRegistrations/3").await.1["RegistrationType"],
        "apikeypolicy"
    );
}

#[tokio::test]
async fn assignees_are_derived_from_role_assignments() {
    let config = SimConfig::default();
    let mut estate = seed();
    estate["ps"]["user_groups"][4]["IsActive"] = json!(false);
    let s = start(estate, config.clone()).await;
    let c = s.session(&config).await;
    assert_eq!(
        s.get(&c, "AccessPolicies/1/Assignees").await.1,
        json!({"TotalCount": 1, "Data": [{
            "RoleID": 1, "RoleName": "Requestor",
            "UserGroupID": 2, "UserGroupName": "Secure Remote Access Requesters", "UserGroupIsActive": true,
            "SmartRuleID": 1, "SmartRuleTitle": "Windows Tier 0 Servers", "SmartRuleIsActive": true
        }]})
    );
    let (_, linux) = s.get(&c, "AccessPolicies/3/Assignees").await;
    assert_eq!(linux["Data"][0]["RoleName"], "Requestor/Approver");
    assert_eq!(linux["Data"][0]["UserGroupIsActive"], false);
    assert_eq!(
        s.get(&c, "AccessPolicies/1/Assignees?limit=5&offset=1")
            .await
            .1,
        json!({"TotalCount": 1, "Data": []})
    );
    assert_eq!(
        s.get(&c, "AccessPolicies/9/Assignees").await,
        (StatusCode::NOT_FOUND, json!("Access Policy not found"))
    );

    // Without `limit`, 25 rows: the lower of the two documented defaults.
    let mut estate = seed();
    let ps = &mut estate["ps"];
    ps["user_groups"] = json!((1..=30)
        .map(|g| json!({"GroupID": g, "Name": format!("G{g}")}))
        .collect::<Vec<_>>());
    ps["role_assignments"] = json!((1..=30).map(|g| json!({"UserGroupID": g, "SmartRuleID": 1, "Roles": [{"RoleID": 1, "Name": "Requestor"}], "AccessPolicyID": 2})).collect::<Vec<_>>());
    let s = start(estate, config.clone()).await;
    let c = s.session(&config).await;
    let (_, page) = s.get(&c, "AccessPolicies/2/Assignees").await;
    assert_eq!(page["TotalCount"], 30);
    assert_eq!(page["Data"].as_array().unwrap().len(), 25);
    let (_, page) = s.get(&c, "AccessPolicies/2/Assignees?limit=100").await;
    assert_eq!(page["Data"].as_array().unwrap().len(), 30);
}

#[tokio::test]
async fn an_older_release_has_no_assignees_endpoint() {
    let config = SimConfig {
        ps_assignees: false,
        ..SimConfig::default()
    };
    let s = start(seed(), config.clone()).await;
    let c = s.session(&config).await;
    let (status, body) = s.get(&c, "AccessPolicies/1/Assignees").await;
    assert_eq!(status, 404);
    assert!(body.is_string(), "{body}");
    assert_eq!(s.get(&c, "AccessPolicies").await.0, 200);
}

// ---------------------------------------------------------------------------------------------
// Writes.

#[tokio::test]
async fn replacing_and_deleting_roles_shows_in_assignees_and_the_snapshot() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let c = s.session(&config).await;
    let roles = "UserGroups/3/SmartRules/1/Roles";
    assert_eq!(
        s.get(&c, roles).await.1,
        json!([{"RoleID": 1, "Name": "Requestor"}]),
        "roles without AccessPolicyID"
    );
    assert_eq!(
        s.get(&c, "AccessPolicies/2/Assignees").await.1["TotalCount"],
        1
    );

    let body = json!({"Roles": [{"RoleID": 3}, {"RoleID": 2}], "AccessPolicyID": 3});
    assert_eq!(
        s.call(Method::POST, &c, roles, Some(body)).await,
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(
        s.get(&c, roles).await.1,
        json!([{"RoleID": 3, "Name": "Requestor/Approver"}, {"RoleID": 2, "Name": "Approver"}])
    );
    assert_eq!(
        s.get(&c, "AccessPolicies/2/Assignees").await.1["TotalCount"],
        0
    );
    let (_, moved) = s.get(&c, "AccessPolicies/3/Assignees").await;
    assert_eq!(moved["TotalCount"], 3);
    let pairs: Vec<(i64, &str)> = moved["Data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["UserGroupID"].as_i64().unwrap(),
                r["RoleName"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (3, "Requestor/Approver"),
            (3, "Approver"),
            (5, "Requestor/Approver")
        ]
    );
    let (_, page) = s
        .get(&c, "AccessPolicies/3/Assignees?limit=2&offset=2")
        .await;
    assert_eq!(page["Data"][0]["UserGroupID"], 5);
    let snapshot = s.sim.ps_snapshot();
    assert_eq!(
        snapshot["role_assignments"][1],
        json!({"UserGroupID": 3, "SmartRuleID": 1,
               "Roles": [{"RoleID": 3, "Name": "Requestor/Approver"}, {"RoleID": 2, "Name": "Approver"}],
               "AccessPolicyID": 3})
    );

    // A requesting role needs an access policy; body property names ignore case.
    let (status, message) = s
        .call(
            Method::POST,
            &c,
            roles,
            Some(json!({"Roles": [{"RoleID": 1}]})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        message.as_str().unwrap().contains("AccessPolicyID"),
        "{message}"
    );
    for bad in [
        json!({"Roles": [{"RoleID": 99}], "AccessPolicyID": 1}),
        json!({"Roles": [{"RoleID": 1}], "AccessPolicyID": 99}),
        json!({"AccessPolicyID": 1}),
        json!([1]),
    ] {
        let (status, message) = s.call(Method::POST, &c, roles, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}");
        assert!(message.is_string());
    }
    let isa = json!({"roles": [{"roleid": "4"}]});
    assert_eq!(s.call(Method::POST, &c, roles, Some(isa)).await.0, 204);
    assert_eq!(
        s.get(&c, roles).await.1,
        json!([{"RoleID": 4, "Name": "ISA"}])
    );

    assert_eq!(
        s.call(Method::DELETE, &c, roles, None).await,
        (StatusCode::OK, Value::Null)
    );
    assert_eq!(s.get(&c, roles).await.1, json!([]));
    assert_eq!(s.get(&c, "UserGroups/3/SmartRules").await.1, json!([]));
    let snapshot = s.sim.ps_snapshot();
    let pairs: Vec<(i64, i64)> = snapshot["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["UserGroupID"].as_i64().unwrap(),
                r["SmartRuleID"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pairs, [(2, 1), (4, 2), (5, 3), (6, 1)]);

    // A new pair is added at the end.
    let body = json!({"Roles": [{"RoleID": 1}], "AccessPolicyID": 2});
    assert_eq!(
        s.call(
            Method::POST,
            &c,
            "UserGroups/1/SmartRules/3/Roles",
            Some(body)
        )
        .await
        .0,
        204
    );
    assert_eq!(s.sim.ps_snapshot()["role_assignments"][4]["UserGroupID"], 1);
    assert_eq!(
        s.call(Method::DELETE, &c, "UserGroups/99/SmartRules/1/Roles", None)
            .await,
        (StatusCode::NOT_FOUND, json!("User Group not found"))
    );
}

#[tokio::test]
async fn put_managed_account_changes_api_enabled() {
    let config = SimConfig::default();
    let s = start(seed_with_member(), config.clone()).await;
    let c = s.session(&config).await;
    let (_, requestable) = s.get(&c, "ManagedAccounts").await;
    assert!(!ids(&requestable, "AccountId").contains(&5));

    let (status, account) = s
        .call(
            Method::PUT,
            &c,
            "ManagedAccounts/5",
            Some(json!({"apiEnabled": true, "Password": "n0t-stored", "Whatever": 1})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(account["ApiEnabled"], true);
    assert_eq!(account["AccountName"], "sa");
    assert!(account.get("Password").is_none() && account.get("Whatever").is_none());
    assert_eq!(s.get(&c, "ManagedAccounts/5").await.1, account);
    assert_eq!(
        s.get(&c, "ManagedSystems/3/ManagedAccounts").await.1[1],
        account
    );
    assert_eq!(s.sim.ps_snapshot()["managed_accounts"][4], account);
    let (_, requestable) = s.get(&c, "ManagedAccounts").await;
    assert!(ids(&requestable, "AccountId").contains(&5));

    for bad in [
        json!({"ApiEnabled": "yes"}),
        json!({"ManagedAccountID": 6}),
        json!({"ManagedSystemID": 99}),
        json!({"ReleaseDuration": 0}),
        json!({"AccountName": ""}),
    ] {
        let (status, message) = s
            .call(Method::PUT, &c, "ManagedAccounts/5", Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}");
        assert!(message.is_string());
    }
    assert_eq!(
        s.call(Method::PUT, &c, "ManagedAccounts/99", Some(json!({})))
            .await,
        (StatusCode::NOT_FOUND, json!("Managed Account not found"))
    );
    assert_eq!(s.sim.ps_snapshot()["managed_accounts"][4], account);
}

#[tokio::test]
async fn access_policies_and_ticket_systems_are_read_only() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let c = s.session(&config).await;
    for (method, path) in [
        (Method::POST, "AccessPolicies"),
        (Method::PUT, "AccessPolicies/1"),
        (Method::DELETE, "AccessPolicies/1"),
        (Method::POST, "AccessPolicies/1/Assignees"),
        (Method::POST, "TicketSystems"),
        (Method::PUT, "ticketsystems/1"),
    ] {
        let mut req = s
            .http
            .request(method.clone(), s.url(path))
            .header(COOKIE, &c);
        if method != Method::DELETE {
            req = req.json(&json!({"Name": "x"}));
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers()["allow"], "GET");
        assert!(decode(r).await.1.is_string());
    }
    // Other simulated resources refuse methods they lack the same way.
    let r = s
        .http
        .delete(s.url("ManagedAccounts/1"))
        .header(COOKIE, &c)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, PUT");
    assert_eq!(
        s.sim.ps_snapshot()["access_policies"],
        seed()["ps"]["access_policies"]
    );
}

// ---------------------------------------------------------------------------------------------
// Faults, limits and sites.

#[tokio::test]
async fn faults_reach_password_safe_paths() {
    let config = SimConfig::default();
    let s = start(seed(), config.clone()).await;
    let c = s.session(&config).await;
    let faults = s.sim.faults();

    faults.fail_path(&format!("{PS}/ManagedSystems"), 503, 1);
    assert_eq!(
        s.get(&c, "managedsystems?limit=2").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!(format!("Simulated failure of {PS}/managedsystems"))
        )
    );
    assert_eq!(s.get(&c, "ManagedSystems").await.0, 200);

    faults.truncate_pages(true);
    let (_, page) = s.get(&c, "ManagedSystems?limit=3").await;
    assert_eq!(page["TotalCount"], 7);
    assert_eq!(ids(&page["Data"], "ManagedSystemID"), [1, 2]);
    let (_, page) = s.get(&c, "AccessPolicies/1/Assignees?limit=10").await;
    assert_eq!(page, json!({"TotalCount": 1, "Data": []}));
    // A bare array announces no total, so nothing says a row is missing: it stays whole.
    assert_eq!(
        s.get(&c, "ManagedSystems")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        7
    );
    faults.truncate_pages(false);

    faults.drop_connections(&format!("{PS}/SmartRules"), 1);
    let broken = s
        .http
        .get(s.url("SmartRules"))
        .header(COOKIE, &c)
        .send()
        .await;
    match broken {
        Err(_) => {}
        Ok(r) => assert!(r.text().await.is_err(), "the body must break off"),
    }
    assert_eq!(s.get(&c, "SmartRules").await.0, 200);

    faults.set_delay(200);
    let started = Instant::now();
    assert_eq!(s.get(&c, "Roles").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    faults.set_delay(0);
}

#[tokio::test]
async fn a_full_requestable_page_loses_its_last_row_to_truncation() {
    let config = SimConfig::default();
    let s = start(many_accounts(30), config.clone()).await;
    let c = s.session(&config).await;
    s.sim.faults().truncate_pages(true);
    let (_, page) = s.get(&c, "ManagedAccounts?limit=20").await;
    assert_eq!(page.as_array().unwrap().len(), 19);
    let (_, last) = s.get(&c, "ManagedAccounts?limit=20&offset=20").await;
    assert_eq!(
        last.as_array().unwrap().len(),
        10,
        "a short page is the end, untouched"
    );
}

#[tokio::test]
async fn password_safe_requests_are_never_throttled_nor_counted_by_the_pra_limit() {
    let config = SimConfig::default();
    assert!(config.rate_limit);
    let s = start(seed(), config.clone()).await;
    let c = s.session(&config).await;
    s.sim.faults().force_429(1);
    for _ in 0..40 {
        let r = s
            .http
            .get(s.url("Roles"))
            .header(COOKIE, &c)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("x-ratelimit-limit").is_none());
    }
    let token: Value = s
        .http
        .post(format!("{}/oauth2/token", s.root))
        .basic_auth("jumpguard-sim", Some("sim-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pra = |token: &Value| {
        s.http
            .get(format!("{}/api/config/v1/jump-group", s.root))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
    };
    assert_eq!(
        pra(&token).await.unwrap().status(),
        429,
        "the forced 429 waited for PRA"
    );
    let r = pra(&token).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "14999");
    assert_eq!(s.sim.request_count(), 1 + 40 + 1 + 2);
}

#[tokio::test]
async fn without_a_ps_half_there_is_no_password_safe_site() {
    let config = SimConfig::default();
    let s = start(json!({"pra": {}}), config.clone()).await;
    let (status, body) = decode(s.sign_in_with(&key_header(&config)).await).await;
    assert_eq!(status, 404);
    assert!(body.is_string());
    assert_eq!(s.get("", "ManagedSystems").await.0, 404);
    assert_eq!(s.sim.ps_snapshot(), Value::Null);

    // An empty half is a site with nothing in it.
    let s = start(json!({"pra": {}, "ps": {}}), config.clone()).await;
    let c = s.session(&config).await;
    assert_eq!(
        s.get(&c, "ManagedSystems").await,
        (StatusCode::OK, json!([]))
    );
    assert_eq!(s.sim.ps_snapshot()["managed_accounts"], json!([]));
}

#[test]
fn every_shipped_and_conformance_estate_is_served() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![
        root.join("examples/seed/estate.json"),
        root.join("examples/compliant/estate.json"),
        root.join("tests/fixtures/partial/estate.json"),
        root.join("tests/fixtures/live/estate.json"),
    ];
    if let Ok(cases) = std::fs::read_dir(root.join("../shared/conformance")) {
        for case in cases.flatten() {
            let estate = case.path().join("estate.json");
            if estate.is_file() {
                files.push(estate);
            }
        }
    }
    for file in files {
        let estate: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let had_ps = estate.get("ps").is_some();
        let sim = Simulator::new(estate, SimConfig::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(sim.ps_snapshot().is_object(), had_ps, "{}", file.display());
    }
}

#[test]
fn debug_output_hides_the_password_safe_secrets() {
    let config = SimConfig {
        ps_password: Some("runas-password".into()),
        ..SimConfig::default()
    };
    let text = format!("{config:?}");
    for secret in [
        config.ps_api_key.as_str(),
        config.ps_client_secret.as_str(),
        "runas-password",
    ] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(text.contains("jumpguard-sim-ps") && text.contains("ps_session_idle"));
}
