//! Every kind of answer of the PRA simulator, seeded with `examples/seed/estate.json`, checked
//! against the vendor's own OpenAPI 3.0 document (`../shared/reference/
//! pra-configuration.openapi.yaml`): each list, a get-one of each resource, creates, an update,
//! a copy, and the 401, 404 and 422 bodies, with the headers each response documents. In CI
//! (`CI=true`) a missing document is a failure, not a skip.

use std::path::Path;

use jumpguard::sim::{SimConfig, Simulator};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// Where the vendor's document contradicts itself, it is corrected, each time with the reason:
/// a JSON pointer under `components/schemas` and the value to put there.
const CORRECTIONS: &[(&str, &str, &str)] = &[
    // `POST /jump-group/{id}/user`: "The `jump_item_role_id` defaults to `null` ... The
    // `jump_policy_id` defaults to `null`", yet the schema types both as non-nullable integers.
    (
        "/JumpGroupUser/properties/jump_item_role_id/nullable",
        "true",
        "defaults to null per its operation",
    ),
    (
        "/JumpGroupUser/properties/jump_policy_id/nullable",
        "true",
        "defaults to null per its operation",
    ),
    // `ip_addresses` is `oneOf` CIDR, range or list, but the list schema requires nothing, so
    // every CIDR and range also matches it and `oneOf` could never hold for them.
    (
        "/NetworkTunnelJumpItemFilterRuleIPAddressList/required",
        r#"["list"]"#,
        "oneOf needs the list variant to require its list",
    ),
];

fn load_spec() -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/pra-configuration.openapi.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the vendor's OpenAPI document is missing at {}: CI must run with ../shared beside the clone",
            path.display()
        );
        eprintln!("skipping: no OpenAPI document at {}", path.display());
        return None;
    };
    let mut spec: Value = serde_saphyr::from_str(&text).expect("the OpenAPI document is YAML");
    for (pointer, value, why) in CORRECTIONS {
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer with a key");
        let target = spec
            .pointer_mut(&format!("/components/schemas{parent}"))
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| {
                panic!("{parent} is gone from the spec; drop the correction ({why})")
            });
        target.insert(key.to_owned(), serde_json::from_str(value).expect("JSON"));
    }
    Some(spec)
}

/// An OpenAPI 3.0 schema as JSON Schema for checking responses: `#/components/schemas/X`
/// becomes `#/definitions/X`, `nullable: true` admits `null`, write-only properties are not
/// required.
fn json_schema(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(
                            k.clone(),
                            Value::String(r.replace("#/components/schemas/", "#/definitions/")),
                        );
                    }
                    ("nullable", _) => {}
                    _ => {
                        out.insert(k.clone(), json_schema(v));
                    }
                }
            }
            // A response never holds write-only properties, so they cannot be required of it
            // (OpenAPI 3.0, Schema Object, `writeOnly`).
            if let (Some(Value::Object(props)), Some(Value::Array(required))) =
                (map.get("properties"), out.get_mut("required"))
            {
                required.retain(|name| {
                    let write_only = name
                        .as_str()
                        .and_then(|n| props.get(n))
                        .and_then(|p| p.get("writeOnly"));
                    write_only != Some(&Value::Bool(true))
                });
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(t) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    values.push(Value::Null);
                }
                if out.contains_key("$ref")
                    || out.contains_key("allOf")
                    || out.contains_key("oneOf")
                {
                    return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

struct Checker {
    spec: Value,
    definitions: Value,
    problems: Vec<String>,
    checked: usize,
}

impl Checker {
    fn new(spec: Value) -> Checker {
        let definitions = json_schema(&spec["components"]["schemas"]);
        Checker {
            spec,
            definitions,
            problems: Vec::new(),
            checked: 0,
        }
    }

    /// The documented response of an operation, `$ref`s to shared responses followed.
    fn response(&self, template: &str, method: &str, status: u16) -> Value {
        let mut response =
            self.spec["paths"][template][method]["responses"][status.to_string()].clone();
        if let Some(r) = response.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/components/responses/");
            response = self.spec["components"]["responses"][name].clone();
        }
        assert!(
            response.is_object(),
            "the spec documents no {status} for {method} {template}"
        );
        response
    }

    fn validate(&mut self, what: &str, schema: &Value, body: &Value) {
        let schema = json!({"definitions": self.definitions, "allOf": [json_schema(schema)]});
        let validator = jsonschema::draft4::new(&schema)
            .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
        for error in validator.iter_errors(body) {
            self.problems
                .push(format!("{what}: {} at {}", error, error.instance_path()));
        }
        self.checked += 1;
    }

    /// Checks a response against `method template` → `status` of the spec: the status, the
    /// documented headers and the body's schema.
    fn check(
        &mut self,
        template: &str,
        method: &str,
        (status, headers, body): &(u16, reqwest::header::HeaderMap, Value),
        expected: u16,
    ) {
        let what = format!("{} {template} → {status}", method.to_uppercase());
        if *status != expected {
            self.problems
                .push(format!("{what}: expected {expected}, body {body}"));
            return;
        }
        let response = self.response(template, method, expected);
        if let Some(documented) = response.get("headers").and_then(Value::as_object) {
            for name in documented.keys() {
                if !headers.contains_key(name.to_ascii_lowercase().as_str()) {
                    self.problems.push(format!("{what}: no {name} header"));
                }
            }
        }
        let Some(mut schema) = response
            .pointer("/content/application~1json/schema")
            .cloned()
        else {
            if !body.is_null() {
                self.problems
                    .push(format!("{what}: documented without a body, got {body}"));
            }
            return;
        };
        // Spec typo (reference §2.4): some lists are typed as one object although they are arrays.
        if body.is_array() && schema.get("type") != Some(&json!("array")) {
            schema = json!({"type": "array", "items": schema});
        }
        self.validate(&what, &schema, body);
    }
}

struct Client {
    http: reqwest::Client,
    root: String,
    token: String,
}

impl Client {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/config/v1{path}", self.root))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("the simulator answers");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON")
        };
        (status, headers, body)
    }
}

/// A simulator serving an estate of the repository on loopback, and a client with a token.
/// The server task ends with the test's runtime.
async fn serve(estate: &str) -> Client {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(estate))
        .expect("the estate file");
    let estate: Value = serde_json::from_str(&text).expect("JSON");
    let sim = Simulator::new(
        estate,
        SimConfig {
            rate_limit: false,
            ..SimConfig::default()
        },
    )
    .expect("the estate is accepted");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sim.serve(listener));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token: Value = http
        .post(format!("{root}/oauth2/token"))
        .basic_auth("jumpguard-sim", Some("sim-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Client {
        http,
        root,
        token: token["access_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn the_simulator_answers_as_the_vendor_document_describes() {
    let Some(spec) = load_spec() else { return };
    let mut c = Checker::new(spec);
    let client = serve("examples/seed/estate.json").await;
    let root = client.root.clone();

    // Every list, the seed's rows in each (empty lists included: their headers still count).
    let lists = [
        ("/jump-item/remote-rdp", "/jump-item/remote-rdp"),
        ("/jump-item/remote-vnc", "/jump-item/remote-vnc"),
        ("/jump-item/shell-jump", "/jump-item/shell-jump"),
        (
            "/jump-item/protocol-tunnel-jump",
            "/jump-item/protocol-tunnel-jump",
        ),
        ("/jump-item/psql-tunnel-jump", "/jump-item/psql-tunnel-jump"),
        (
            "/jump-item/mysql-tunnel-jump",
            "/jump-item/mysql-tunnel-jump",
        ),
        (
            "/jump-item/network-tunnel-jump",
            "/jump-item/network-tunnel-jump",
        ),
        ("/jump-item/web-jump", "/jump-item/web-jump"),
        ("/jump-client", "/jump-client"),
        ("/jump-group", "/jump-group"),
        ("/jump-group/{id}/user", "/jump-group/4/user"),
        ("/group-policy", "/group-policy"),
        (
            "/group-policy/{id}/jump-group",
            "/group-policy/2/jump-group",
        ),
        ("/jump-policy", "/jump-policy"),
        ("/jump-policy/{id}/schedule", "/jump-policy/5/schedule"),
        ("/jump-policy/{id}/schedule", "/jump-policy/3/schedule"),
        ("/jump-item-role", "/jump-item-role"),
        ("/jumpoint", "/jumpoint"),
        ("/user", "/user"),
        ("/team", "/team"),
        ("/session-policy", "/session-policy"),
        ("/vault/account", "/vault/account"),
        ("/vault/account-group", "/vault/account-group"),
    ];
    for (template, path) in lists {
        let response = client.call(Method::GET, path, None).await;
        c.check(template, "get", &response, 200);
    }

    // One of each resource.
    let ones = [
        ("/jump-item/remote-rdp/{id}", "/jump-item/remote-rdp/101"),
        ("/jump-item/shell-jump/{id}", "/jump-item/shell-jump/58"),
        (
            "/jump-item/protocol-tunnel-jump/{id}",
            "/jump-item/protocol-tunnel-jump/21",
        ),
        (
            "/jump-item/psql-tunnel-jump/{id}",
            "/jump-item/psql-tunnel-jump/5",
        ),
        ("/jump-item/web-jump/{id}", "/jump-item/web-jump/8"),
        ("/jump-client/{id}", "/jump-client/41"),
        ("/jump-group/{id}", "/jump-group/4"),
        ("/jump-group/{id}/user/{user_id}", "/jump-group/9/user/21"),
        ("/group-policy/{id}", "/group-policy/3"),
        ("/jump-policy/{id}", "/jump-policy/3"),
        ("/jump-item-role/{id}", "/jump-item-role/2"),
        ("/jumpoint/{id}", "/jumpoint/2"),
        ("/user/{id}", "/user/12"),
        ("/team/{id}", "/team/3"),
        ("/vault/account/{id}", "/vault/account/1"),
        ("/vault/account-group/{id}", "/vault/account-group/1"),
    ];
    for (template, path) in ones {
        let response = client.call(Method::GET, path, None).await;
        c.check(template, "get", &response, 200);
    }

    // Creates (201 with the new resource and its Location), an update, a copy.
    let creates = [
        (
            "/jump-group",
            json!({"name": "Linux Staging", "code_name": "linux_staging"}),
        ),
        (
            "/jump-item/shell-jump",
            json!({"name": "stg01", "hostname": "stg01.corp.example", "protocol": "ssh", "jumpoint_id": 2, "jump_group_id": 9}),
        ),
        (
            "/jump-item/network-tunnel-jump",
            json!({"name": "Lab network", "jumpoint_id": 2, "jump_group_id": 9,
                   "filter_rules": [{"ip_addresses": {"cidr": "10.60.0.0/24"}, "protocol": "TCP", "ports": {"list": [22, 443]}}]}),
        ),
        (
            "/jump-policy",
            json!({"display_name": "Staging approval", "code_name": "staging-approval", "approval_required": true,
                   "approval_display_name": "Leads", "approval_team_ids": [4]}),
        ),
        (
            "/jumpoint",
            json!({"name": "Lab", "platform": "linux-x86", "code_name": "lab"}),
        ),
        (
            "/team",
            json!({"name": "Staging Leads", "code_name": "staging_leads"}),
        ),
        (
            "/group-policy",
            json!({"name": "Staging", "perm_access_allowed": true, "perm_shell_jump": true}),
        ),
        (
            "/vault/account",
            json!({"type": "username_password", "name": "stg-root", "username": "root", "password": "s3cret"}),
        ),
        ("/vault/account-group", json!({"name": "Staging"})),
    ];
    for (template, body) in creates {
        let response = client.call(Method::POST, template, Some(body)).await;
        if response.0 == 201 && !response.1.contains_key("location") {
            c.problems
                .push(format!("POST {template}: no Location header"));
        }
        c.check(template, "post", &response, 201);
    }
    let response = client
        .call(
            Method::POST,
            "/jump-group/4/user",
            Some(json!({"user_id": 14})),
        )
        .await;
    c.check("/jump-group/{id}/user", "post", &response, 201);
    let response = client
        .call(
            Method::POST,
            "/group-policy/5/jump-group",
            Some(json!({"jump_group_id": 4, "jump_policy_id": 3})),
        )
        .await;
    c.check("/group-policy/{id}/jump-group", "post", &response, 201);
    let response = client
        .call(
            Method::PATCH,
            "/jump-item/remote-rdp/118",
            Some(json!({"jump_policy_id": 3, "tag": "tier0-dc"})),
        )
        .await;
    c.check("/jump-item/remote-rdp/{id}", "patch", &response, 200);
    let response = client
        .call(
            Method::POST,
            "/jump-item/shell-jump/31/copy",
            Some(json!({"jump_group_id": 21, "jump_group_type": "personal", "name": "app01 mine"})),
        )
        .await;
    c.check("/jump-item/shell-jump/{id}/copy", "post", &response, 200);
    let response = client.call(Method::DELETE, "/jump-group/7", None).await;
    c.check("/jump-group/{id}", "delete", &response, 204);

    // Errors: 404 and 422 as their operations document them, 401 as the OAuth error schema.
    let response = client.call(Method::GET, "/jump-group/999", None).await;
    c.check("/jump-group/{id}", "get", &response, 404);
    let response = client
        .call(
            Method::POST,
            "/jump-policy",
            Some(json!({"code_name": "no name", "approval_required": true, "schedule_enabled": true})),
        )
        .await;
    c.check("/jump-policy", "post", &response, 422);
    let oauth_error = json!({"$ref": "#/components/schemas/OAuthErrorResponse"});
    let denied = Client {
        http: client.http.clone(),
        root: root.clone(),
        token: "not-a-token".into(),
    }
    .call(Method::GET, "/jump-group", None)
    .await;
    assert_eq!(denied.0, 401);
    c.validate(
        "GET /jump-group with a bad token → 401",
        &oauth_error,
        &denied.2,
    );
    let refused: Value = client
        .http
        .post(format!("{root}/oauth2/token"))
        .basic_auth("jumpguard-sim", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.validate(
        "POST /oauth2/token with a bad secret → 401",
        &oauth_error,
        &refused,
    );

    // The compliant example's lists too: it is the same estate after a remediation.
    let compliant = serve("examples/compliant/estate.json").await;
    for (template, path) in lists {
        let response = compliant.call(Method::GET, path, None).await;
        c.check(template, "get", &response, 200);
    }
    assert!(c.checked >= 70, "only {} responses checked", c.checked);
    assert!(
        c.problems.is_empty(),
        "{} of the simulator's responses disagree with the vendor's schemas:\n{}",
        c.problems.len(),
        c.problems.join("\n")
    );
}
