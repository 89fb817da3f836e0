//! The resources of the PRA Configuration API as the simulator knows them: their URLs, fields,
//! documented defaults, filters and operations (`reference/pra-config-api.md` §3, §4). The
//! tables are written from the reference, field by field; the vendor's OpenAPI document is only
//! used by `tests/sim_openapi.rs` to check what the simulator serves.

use serde_json::{Map, Value};

use super::http::Errors;

/// A stored or served row.
pub(super) type Row = Map<String, Value>;

/// The JSON type and constraints of a field.
#[derive(Clone, Copy, Debug)]
pub(super) enum Kind {
    /// A JSON integer in an inclusive range (numeric strings are refused, §2.1).
    Int { min: i64, max: i64 },
    /// A string whose length in characters is in an inclusive range.
    Str { min: usize, max: usize },
    /// `true` or `false`.
    Bool,
    /// One of a closed set of strings.
    Enum(&'static [&'static str]),
    /// An array of strings.
    Strings { max: usize },
    /// An array of ids typed as strings by the spec (`approval_user_ids`); numbers are accepted
    /// and served back as strings.
    StringIds { max: usize },
    /// An array whose elements are checked by the resource's own rules.
    Array { max: usize },
    /// An RFC 3339 date-time in UTC; served with `+00:00`.
    DateTime,
    /// A code name: 0–64 characters of `[a-zA-Z0-9_-]`, unique in its collection.
    CodeName,
    /// Anything (type-specific vault fields the simulator does not check).
    Any,
}

/// Who may write a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// Read and written.
    ReadWrite,
    /// Written, and required on create.
    Required,
    /// Served, never written (ignored in request bodies).
    ReadOnly,
    /// Written, never served (secrets).
    WriteOnly,
}

/// One field of a resource.
#[derive(Clone, Copy, Debug)]
pub(super) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub access: Access,
    pub nullable: bool,
    /// The documented default as JSON text, served when a row lacks the field.
    pub default: Option<&'static str>,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        access: Access::ReadWrite,
        nullable: false,
        default: None,
    }
}

impl Field {
    const fn req(mut self) -> Self {
        self.access = Access::Required;
        self
    }
    const fn ro(mut self) -> Self {
        self.access = Access::ReadOnly;
        self
    }
    const fn wo(mut self) -> Self {
        self.access = Access::WriteOnly;
        self
    }
    const fn null(mut self) -> Self {
        self.nullable = true;
        self
    }
    const fn def(mut self, json: &'static str) -> Self {
        self.default = Some(json);
        self
    }
}

const MAX_ID: i64 = 2_147_483_647;
const ID: Kind = Kind::Int {
    min: 1,
    max: MAX_ID,
};
const BOOL: Kind = Kind::Bool;
const TEXT: Kind = Kind::Str {
    min: 0,
    max: usize::MAX,
};
const fn s(min: usize, max: usize) -> Kind {
    Kind::Str { min, max }
}
const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn flag(name: &'static str) -> Field {
    f(name, BOOL).def("false")
}

/// How a list filter's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FilterKind {
    /// Exact, case-insensitive string match.
    Str,
    /// An integer id.
    Int,
    /// `include_personal` of vault accounts: a switch, not a field match.
    IncludePersonal,
}

/// Which operations a resource offers (§3).
#[derive(Clone, Copy, Debug)]
pub(super) struct Ops {
    pub list: bool,
    pub create: bool,
    pub get: bool,
    pub update: bool,
    pub delete: bool,
    pub copy: bool,
}

const ALL_OPS: Ops = Ops {
    list: true,
    create: true,
    get: true,
    update: true,
    delete: true,
    copy: false,
};
const JUMP_ITEM_OPS: Ops = Ops {
    copy: true,
    ..ALL_OPS
};
const READ_OPS: Ops = Ops {
    list: true,
    create: false,
    get: true,
    update: false,
    delete: false,
    copy: false,
};

/// A sub-resource addressed under its parent (`/jump-group/{id}/user`). Its rows carry the
/// parent's id in `field`, which the API does not serve.
#[derive(Clone, Copy, Debug)]
pub(super) struct Parent {
    /// The parent's URL segment (`jump-group`).
    pub path: &'static str,
    /// The sub-resource's segment (`user`).
    pub sub: &'static str,
    /// The stored-only field holding the parent id (`jump_group_id`).
    pub field: &'static str,
    /// The parent resource's store key.
    pub of: &'static str,
    /// The field that identifies a row under its parent (`user_id`).
    pub key: &'static str,
}

/// One collection of the API.
#[derive(Debug)]
pub(super) struct Resource {
    /// The estate key, and the store's (`jump_group`; `jump_item/remote-rdp` for jump items).
    pub store: &'static str,
    /// The URL path under the API base (`jump-group`); for a sub-resource, its `sub` segment.
    pub path: &'static str,
    /// What one row is called in messages.
    pub what: &'static str,
    pub fields: &'static [&'static [Field]],
    pub filters: &'static [(&'static str, FilterKind)],
    pub ops: Ops,
    pub paginated: bool,
    pub parent: Option<Parent>,
}

impl Resource {
    pub(super) fn fields(&self) -> impl Iterator<Item = &'static Field> {
        self.fields.iter().flat_map(|part| part.iter())
    }

    pub(super) fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields().find(|f| f.name == name)
    }

    pub(super) fn is_jump_item(&self) -> bool {
        self.store.starts_with("jump_item/")
    }

    /// The field that identifies a row: `id`, or the parent-relative key of a sub-resource.
    pub(super) fn key(&self) -> &'static str {
        self.parent.map_or("id", |p| p.key)
    }
}

// ---------------------------------------------------------------------------------------------
// Jump items (§4.2). Every type shares a head and a tail around its own fields.

const ITEM_HEAD: &[Field] = &[
    f("id", ID).ro(),
    f("name", s(1, 128)).req(),
    f("jumpoint_id", ID).req(),
];
const HOSTNAME: Field = f("hostname", s(1, 128)).req();
const ITEM_GROUP: &[Field] = &[
    f("jump_group_id", ID).req(),
    f("jump_group_type", Kind::Enum(&["shared", "personal"])).def("\"shared\""),
];
const ITEM_TAIL: &[Field] = &[
    f("tag", s(0, 64)),
    f("comments", s(0, 1024)),
    f("jump_policy_id", ID).null().def("null"),
    f("session_policy_id", int(2, MAX_ID)).null().def("null"),
];
const TUNNEL_LISTEN: Field = f("tunnel_listen_address", s(0, 32)).def("\"127.0.0.1\"");

const RDP: &[Field] = &[
    HOSTNAME,
    f(
        "quality",
        Kind::Enum(&[
            "low",
            "performance",
            "performance_quality",
            "quality",
            "best_performance",
            "lossless",
        ]),
    )
    .def("\"best_performance\""),
    flag("console"),
    flag("ignore_untrusted"),
    f("rdp_username", s(0, 128)),
    f("domain", s(0, 64)),
    flag("session_forensics"),
    f("endpoint_id", ID).ro().null().def("null"),
    f(
        "secure_app_type",
        Kind::Enum(&[
            "none",
            "remote_app",
            "remote_desktop_agent",
            "remote_desktop_agent_credentials",
        ]),
    ),
    f("remote_app_name", s(0, 512)),
    f("remote_app_params", s(0, 8000)),
    f("remote_exe_path", s(0, 512)),
    f("remote_exe_params", s(0, 8000)),
    f("target_system", s(0, 250)),
    f("credential_type", s(0, 250)),
];
const VNC: &[Field] = &[HOSTNAME, f("port", int(100, 65535)).def("5900")];
/// `port`'s default depends on `protocol` (22 for ssh, 23 for telnet): see [`default_of`].
const SHELL: &[Field] = &[
    HOSTNAME,
    f("protocol", Kind::Enum(&["ssh", "telnet"])).req(),
    f("port", int(1, 65535)),
    f("terminal", Kind::Enum(&["xterm", "VT100"])).def("\"xterm\""),
    f("keep_alive", int(0, 300)),
    f("username", s(0, 128)),
];
/// `hostname` is required except for Kubernetes tunnels, whose host comes from `url`.
const PROTOCOL_TUNNEL: &[Field] = &[
    f("hostname", s(1, 128)),
    TUNNEL_LISTEN,
    f("tunnel_definitions", s(0, 5000)),
    f("tunnel_type", Kind::Enum(&["tcp", "mssql", "k8s"])).def("\"tcp\""),
    f("username", s(0, 128)),
    f("database", s(0, 128)),
    f("url", s(1, 256)),
    f("ca_certificates", s(1, 12288)),
];
const DATABASE_TUNNEL: &[Field] = &[
    HOSTNAME,
    TUNNEL_LISTEN,
    f("username", s(0, 128)),
    f("database", s(0, 128)),
];
const NETWORK_TUNNEL: &[Field] = &[f("filter_rules", Kind::Array { max: 50 }).req()];
const WEB: &[Field] = &[
    f("url", s(1, 255)).req(),
    f(
        "username_format",
        Kind::Enum(&[
            "default",
            "username_only",
            "force_upn_format",
            "force_dlln_format",
        ]),
    )
    .def("\"default\""),
    f("verify_certificate", BOOL).def("true"),
    f("authentication_timeout", int(1, 30)).def("3"),
    f("username_field", s(0, 255)).null(),
    f("password_field", s(0, 255)).null(),
    f("submit_field", s(0, 255)).null(),
];

const ITEM_FILTERS: &[(&str, FilterKind)] = &[
    ("name", FilterKind::Str),
    ("hostname", FilterKind::Str),
    ("jump_group_id", FilterKind::Int),
    ("jump_group_type", FilterKind::Str),
    ("jumpoint_id", FilterKind::Int),
    ("tag", FilterKind::Str),
];
const RDP_FILTERS: &[(&str, FilterKind)] = &[
    ("name", FilterKind::Str),
    ("hostname", FilterKind::Str),
    ("jump_group_id", FilterKind::Int),
    ("jump_group_type", FilterKind::Str),
    ("jumpoint_id", FilterKind::Int),
    ("endpoint_id", FilterKind::Int),
    ("tag", FilterKind::Str),
];
const NETWORK_FILTERS: &[(&str, FilterKind)] = &[
    ("name", FilterKind::Str),
    ("jump_group_id", FilterKind::Int),
    ("jump_group_type", FilterKind::Str),
    ("jumpoint_id", FilterKind::Int),
    ("tag", FilterKind::Str),
];
const WEB_FILTERS: &[(&str, FilterKind)] = &[
    ("name", FilterKind::Str),
    ("url", FilterKind::Str),
    ("jump_group_id", FilterKind::Int),
    ("jump_group_type", FilterKind::Str),
    ("jumpoint_id", FilterKind::Int),
    ("tag", FilterKind::Str),
];

const fn jump_item(
    store: &'static str,
    path: &'static str,
    what: &'static str,
    own: &'static [&'static [Field]],
    filters: &'static [(&'static str, FilterKind)],
) -> Resource {
    Resource {
        store,
        path,
        what,
        fields: own,
        filters,
        ops: JUMP_ITEM_OPS,
        paginated: true,
        parent: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Everything else (§4.1, §4.2 Jump Client, §4.3–§4.9).

const JUMP_CLIENT: &[Field] = &[
    f("id", ID).ro(),
    f("jump_group_id", ID).req(),
    f("jump_group_type", Kind::Enum(&["shared", "personal"])).def("\"shared\""),
    f("name", s(1, 128)),
    f("hostname", s(1, 255)).ro(),
    f("fqdn", s(1, 255)).ro(),
    f("tag", s(0, 64)),
    f("comments", s(0, 1024)),
    f("jump_policy_id", ID).null().def("null"),
    f("session_policy_id", int(2, MAX_ID)).null().def("null"),
    f("install_mode", Kind::Enum(&["unknown", "user", "service"])).ro(),
    f(
        "connection_type",
        Kind::Enum(&["active", "passive", "uninstalled"]),
    )
    .ro()
    .def("\"active\""),
    f("last_connect_timestamp", Kind::DateTime).ro(),
    f("last_disconnect_timestamp", Kind::DateTime).ro(),
    f("is_lost", BOOL).ro(),
    f("needs_update", BOOL).ro(),
    f("unavailable_reason", Kind::Enum(&["none", "disabled"])).ro(),
    f("operating_system", TEXT).ro(),
    f("public_ip", TEXT).ro(),
    f("private_ip", TEXT).ro(),
    f("console_user", TEXT).ro(),
    f("expiration_timestamp", Kind::DateTime).ro(),
    f("max_offline_minutes", int(0, MAX_ID)),
    f("last_access_timestamp", Kind::DateTime).ro(),
    f(
        "endpoint_agreement_policy",
        Kind::Enum(&["no_prompt", "accept", "reject"]),
    ),
];

const JUMP_GROUP: &[Field] = &[
    f("id", ID).ro(),
    f("name", s(1, 255)).req(),
    f("code_name", Kind::CodeName),
    f("comments", s(0, 4096)).null(),
    f("ecm_group_id", ID),
];

/// `null` role: the user's default role at jump time; `null` policy: "Set on Jump Items".
const JUMP_GROUP_USER: &[Field] = &[
    f("user_id", ID).req(),
    f("jump_item_role_id", ID).null().def("null"),
    f("jump_policy_id", ID).null().def("null"),
];

/// `0` role: "User's Default"; `0` policy: "Set on Jump Items" (both the defaults).
const GROUP_POLICY_JUMP_GROUP: &[Field] = &[
    f("jump_group_id", ID).req(),
    f("jump_item_role_id", int(0, MAX_ID)).def("0"),
    f("jump_policy_id", int(0, MAX_ID)).def("0"),
];

/// The group policy permissions PRA resets to false unless access is allowed and defined
/// (§4.7 [OBS]).
pub(super) const JUMP_PERMISSIONS: &[&str] = &[
    "perm_jump_client",
    "perm_local_jump",
    "perm_remote_jump",
    "perm_remote_vnc",
    "perm_remote_rdp",
    "perm_shell_jump",
    "perm_web_jump",
    "perm_protocol_tunnel",
];

const GROUP_POLICY: &[Field] = &[
    f("id", ID).ro(),
    f("name", s(1, 255)).req(),
    flag("perm_access_allowed"),
    f(
        "access_perm_status",
        Kind::Enum(&["not_defined", "defined", "final"]),
    )
    .def("\"not_defined\""),
    flag("perm_share_other_team"),
    flag("perm_invite_external_user"),
    f("perm_session_idle_timeout", int(-1, 86400)).def("-1"),
    flag("perm_extended_availability_mode_allowed"),
    flag("perm_edit_external_key"),
    flag("perm_collaborate"),
    flag("perm_collaborate_control"),
    flag("perm_jump_client"),
    flag("perm_local_jump"),
    flag("perm_remote_jump"),
    flag("perm_remote_vnc"),
    flag("perm_remote_rdp"),
    flag("perm_shell_jump"),
    flag("perm_web_jump"),
    flag("perm_protocol_tunnel"),
    flag("perm_sd_static_port_for_external_tools"),
    f("default_jump_item_role_id", ID).def("1"),
    f("private_jump_item_role_id", ID).def("1"),
    f("inferior_jump_item_role_id", ID).def("1"),
    f("unassigned_jump_item_role_id", ID).def("1"),
];

/// `schedule_enabled` defaults to false here although the spec says true: a policy created
/// with only `approval_required: true` succeeds on real appliances, the UI starts with the
/// schedule unchecked (§4.3 [OBS][DOC]), and jumpguard's estate model reads it so.
const JUMP_POLICY: &[Field] = &[
    f("id", ID).ro(),
    f("display_name", s(1, 255)).req(),
    f("code_name", Kind::CodeName),
    f("description", s(0, 1000)),
    flag("schedule_enabled"),
    f(
        "simultaneous_jumps",
        Kind::Enum(&["global", "join", "disallow"]),
    )
    .def("\"global\""),
    flag("simultaneous_jump_behavior_applies_to_copies"),
    f(
        "simultaneous_jumps_rdp",
        Kind::Enum(&["global", "new_session", "disallow"]),
    )
    .def("\"global\""),
    f("external_tools_rdp_allowed", BOOL).def("true"),
    f("external_tools_shell_allowed", BOOL).def("true"),
    flag("schedule_strict"),
    flag("ticket_id_required"),
    flag("two_factor_challenge_required"),
    flag("session_start_notification"),
    flag("session_end_notification"),
    f("notification_email_addresses", Kind::Strings { max: 100 }).def("[]"),
    f("notification_display_name", s(0, 255)),
    f("notification_email_language", TEXT).def("\"en-us\""),
    flag("approval_required"),
    f("approval_max_duration", int(1, 524_160)).def("480"),
    f("approval_scope", Kind::Enum(&["requestor", "anyone"])).def("\"requestor\""),
    f("approval_email_addresses", Kind::Strings { max: 100 }).def("[]"),
    f("approval_user_ids", Kind::StringIds { max: 100 }).def("[]"),
    f("approval_team_ids", Kind::StringIds { max: 100 }).def("[]"),
    f("approval_display_name", s(0, 255)),
    f("approval_email_language", TEXT).def("\"en-us\""),
    f(
        "approval_approver_scope",
        Kind::Enum(&["not_requestor", "anyone"]),
    )
    .def("\"not_requestor\""),
    flag("recordings_disabled"),
];

const JUMP_ITEM_ROLE: &[Field] = &[
    f("id", ID).ro(),
    f("name", s(1, 255)),
    f("description", s(0, 4096)),
    flag("perm_add"),
    flag("perm_assign_jump_group"),
    flag("perm_remove"),
    flag("perm_start"),
    flag("perm_edit_tag"),
    flag("perm_edit_comments"),
    flag("perm_edit_jump_policy"),
    flag("perm_edit_session_policy"),
    flag("perm_edit_identity"),
    flag("perm_edit_behavior"),
    flag("perm_view_jump_item_report"),
];

const JUMPOINT: &[Field] = &[
    f("id", ID).ro(),
    f("name", s(1, 255)).req(),
    f("platform", Kind::Enum(&["windows-x86", "linux-x86"])).req(),
    f("code_name", Kind::CodeName),
    f("comments", s(0, 1024)),
    f("enabled", BOOL).def("true"),
    f("connected", BOOL).ro().def("true"),
    flag("clustered"),
    flag("shell_jump_enabled"),
    f("external_jump_item_network_id", s(0, 1024)),
    f("protocol_tunnel_enabled", BOOL).def("true"),
    f("rdp_service_account_id", ID).null().def("null"),
    f("managed_ip_ranges", Kind::Array { max: usize::MAX }).def("[]"),
    flag("jzp_enabled"),
    f("jzp_proxy_hostname", s(0, 256)).def("\"\""),
    f("jzp_proxy_port", int(1, 65535)).def("9555"),
    flag("jzp_allow_http_get"),
    f(
        "jzp_client_address_restrictions_type",
        Kind::Enum(&["no_restriction", "allow_all", "deny_all"]),
    )
    .def("\"no_restriction\""),
    f("jzp_restricted_ips", Kind::Strings { max: usize::MAX }).def("[]"),
    f("docker_deploy_key", TEXT).ro(),
    f("key_info", TEXT).ro(),
];

const SESSION_POLICY: &[Field] = &[
    f("id", ID).ro(),
    f("display_name", s(1, 255)),
    f("code_name", Kind::CodeName),
    f("description", s(0, 1024)),
];

const fn ro_flag(name: &'static str) -> Field {
    flag(name).ro()
}

/// Every `perm_*` of a user is its read-only effective permission (§4.8).
const USER: &[Field] = &[
    f("id", ID).ro(),
    f("security_provider_id", ID).ro(),
    f("username", s(1, 64)),
    f("password", s(0, 256)).wo(),
    f("public_display_name", s(1, 64)).req(),
    f("password_expiration", Kind::DateTime).null(),
    f("email_address", s(3, 255)),
    f("preferred_email_language", s(2, 10)).def("\"en-us\""),
    flag("two_factor_required"),
    f("enabled", BOOL).def("true"),
    f("last_authentication", Kind::DateTime).ro(),
    f("failed_logins", int(0, MAX_ID)).def("0"),
    flag("password_reset_next_login"),
    f("created_at", Kind::DateTime).ro(),
    f("two_factor_enabled", BOOL).ro(),
    f("fido2_credential_count", int(0, MAX_ID)).ro(),
    f("fido2_last_used_date", Kind::DateTime).ro(),
    f("perm_admin", BOOL).ro(),
    f("perm_set_passwords", BOOL).ro(),
    f("perm_admin_pushagents", BOOL).ro(),
    f("perm_view_support_reports", TEXT).ro(),
    f("perm_view_vault_reports", TEXT).ro(),
    f("perm_view_syslog_reports", BOOL).ro(),
    f("perm_view_sd_recordings", BOOL).ro(),
    f("perm_edit_jump_groups", BOOL).ro(),
    f("perm_edit_sd_teams", BOOL).ro(),
    f("perm_edit_canned_scripts", BOOL).ro(),
    f("perm_edit_custom_rep_links", BOOL).ro(),
    f("perm_access_allowed", TEXT).ro(),
    ro_flag("perm_share_other_team"),
    ro_flag("perm_invite_external_user"),
    ro_flag("perm_extended_availability_mode_allowed"),
    ro_flag("perm_edit_external_key"),
    f("perm_session_idle_timeout", int(-1, 86400))
        .ro()
        .def("-1"),
    ro_flag("perm_collaborate"),
    ro_flag("perm_collaborate_control"),
    ro_flag("perm_jump_client"),
    ro_flag("perm_local_jump"),
    ro_flag("perm_remote_jump"),
    ro_flag("perm_remote_vnc"),
    ro_flag("perm_remote_rdp"),
    ro_flag("perm_shell_jump"),
    f("default_jump_item_role_id", ID).ro().def("1"),
    f("private_jump_item_role_id", ID).ro().def("1"),
    f("inferior_jump_item_role_id", ID).ro().def("1"),
    f("unassigned_jump_item_role_id", ID).ro().def("1"),
    ro_flag("perm_web_jump"),
    ro_flag("perm_protocol_tunnel"),
    ro_flag("perm_sd_static_port_for_external_tools"),
    f("perm_vault", BOOL).ro(),
    f("perm_endpoint_automation", TEXT)
        .ro()
        .def("\"not_allowed\""),
];

const TEAM: &[Field] = &[
    f("id", ID).ro(),
    f("name", s(1, 255)).req(),
    f("code_name", Kind::CodeName),
    f("comments", s(0, 4096)).null(),
];

/// The vault account types (§4.9); only some can be created.
pub(super) const VAULT_TYPES: &[&str] = &[
    "username_password",
    "ssh",
    "ssh_ca",
    "windows_local",
    "windows_domain",
    "opaque_token",
    "x509_ca",
    "x509_csr",
    "aws_secret",
    "password_safe",
];

/// The union of every vault account type's fields; the list serves the generic shape, a
/// single account whatever its row holds.
const VAULT_ACCOUNT: &[Field] = &[
    f("id", ID).ro(),
    f("type", Kind::Enum(VAULT_TYPES)),
    f("name", s(1, 255)),
    f("description", s(0, 4096)),
    f("personal", BOOL).ro(),
    f("owner_user_id", ID).ro(),
    f("account_group_id", ID).def("1"),
    f("account_policy", s(1, 64)).null(),
    f("username", s(1, 255)),
    f("password", s(1, 255)).wo(),
    f("public_key", TEXT).ro(),
    f("private_key", s(1, 4096)).wo(),
    f("private_key_passphrase", s(1, 1024)).wo(),
    f("private_key_public_cert", s(1, 4096)).null(),
    f("token", s(1, 4096)).wo(),
    f("last_checkout_timestamp", Kind::DateTime).ro(),
    f("is_management", BOOL).ro(),
    f("unique_id", TEXT).ro(),
    f("distinguished_name", TEXT).ro(),
    f("sam_account_name", TEXT).ro(),
    f("service_principal_name", TEXT).ro(),
    f("azure_ad_object_id", TEXT).ro(),
    f("sid", TEXT).ro(),
    f("endpoint_id", ID).ro(),
    f("arn", TEXT).ro(),
    f("aws_organization_id", TEXT).ro(),
    f("tags", Kind::Any).ro(),
    f("x509_key", Kind::Any).wo(),
    f("x509_key_passphrase", Kind::Any).wo(),
    f("x509_cert", Kind::Any),
    f("subject", Kind::Any),
    f("ttl", Kind::Any),
    f("key_algorithm", Kind::Any),
    f("cert_digest_algorithm", Kind::Any),
    f("parent_x509", Kind::Any),
];

const VAULT_ACCOUNT_GROUP: &[Field] = &[
    f("id", ID).ro(),
    f("name", s(1, 255)).req(),
    f("description", s(0, 1024)),
    f("account_policy", s(1, 64)).null(),
];

const NAME: &[(&str, FilterKind)] = &[("name", FilterKind::Str)];
const NAME_CODE: &[(&str, FilterKind)] =
    &[("name", FilterKind::Str), ("code_name", FilterKind::Str)];

const fn plain(
    store: &'static str,
    path: &'static str,
    what: &'static str,
    fields: &'static [&'static [Field]],
    filters: &'static [(&'static str, FilterKind)],
    ops: Ops,
) -> Resource {
    Resource {
        store,
        path,
        what,
        fields,
        filters,
        ops,
        paginated: true,
        parent: None,
    }
}

/// Every resource the simulator serves. Paths not listed answer 404.
pub(super) static RESOURCES: &[Resource] = &[
    jump_item(
        "jump_item/remote-rdp",
        "jump-item/remote-rdp",
        "Remote RDP Jump Item",
        &[ITEM_HEAD, RDP, ITEM_GROUP, ITEM_TAIL],
        RDP_FILTERS,
    ),
    jump_item(
        "jump_item/remote-vnc",
        "jump-item/remote-vnc",
        "Remote VNC Jump Item",
        &[ITEM_HEAD, VNC, ITEM_GROUP, ITEM_TAIL],
        ITEM_FILTERS,
    ),
    jump_item(
        "jump_item/shell-jump",
        "jump-item/shell-jump",
        "Shell Jump Item",
        &[ITEM_HEAD, SHELL, ITEM_GROUP, ITEM_TAIL],
        ITEM_FILTERS,
    ),
    jump_item(
        "jump_item/protocol-tunnel-jump",
        "jump-item/protocol-tunnel-jump",
        "Protocol Tunnel Jump Item",
        &[ITEM_HEAD, PROTOCOL_TUNNEL, ITEM_GROUP, ITEM_TAIL],
        ITEM_FILTERS,
    ),
    jump_item(
        "jump_item/psql-tunnel-jump",
        "jump-item/psql-tunnel-jump",
        "PostgreSQL Tunnel Jump Item",
        &[ITEM_HEAD, DATABASE_TUNNEL, ITEM_GROUP, ITEM_TAIL],
        ITEM_FILTERS,
    ),
    jump_item(
        "jump_item/mysql-tunnel-jump",
        "jump-item/mysql-tunnel-jump",
        "MySQL Tunnel Jump Item",
        &[ITEM_HEAD, DATABASE_TUNNEL, ITEM_GROUP, ITEM_TAIL],
        ITEM_FILTERS,
    ),
    jump_item(
        "jump_item/network-tunnel-jump",
        "jump-item/network-tunnel-jump",
        "Network Tunnel Jump Item",
        &[ITEM_HEAD, NETWORK_TUNNEL, ITEM_GROUP, ITEM_TAIL],
        NETWORK_FILTERS,
    ),
    jump_item(
        "jump_item/web-jump",
        "jump-item/web-jump",
        "Web Jump Item",
        &[ITEM_HEAD, WEB, ITEM_GROUP, ITEM_TAIL],
        WEB_FILTERS,
    ),
    // Jump clients are installed on endpoints, never created through the API.
    plain(
        "jump_client",
        "jump-client",
        "Jump Client",
        &[JUMP_CLIENT],
        &[
            ("name", FilterKind::Str),
            ("hostname", FilterKind::Str),
            ("fqdn", FilterKind::Str),
            ("tag", FilterKind::Str),
            ("jump_group_id", FilterKind::Int),
            ("jump_group_type", FilterKind::Str),
            ("console_user", FilterKind::Str),
            ("public_ip", FilterKind::Str),
            ("private_ip", FilterKind::Str),
            ("connection_type", FilterKind::Str),
        ],
        Ops {
            create: false,
            ..JUMP_ITEM_OPS
        },
    ),
    plain(
        "jump_group",
        "jump-group",
        "Jump Group",
        &[JUMP_GROUP],
        NAME_CODE,
        ALL_OPS,
    ),
    Resource {
        store: "jump_group_user",
        path: "user",
        what: "Jump Group user",
        fields: &[JUMP_GROUP_USER],
        filters: &[],
        ops: ALL_OPS,
        paginated: true,
        parent: Some(Parent {
            path: "jump-group",
            sub: "user",
            field: "jump_group_id",
            of: "jump_group",
            key: "user_id",
        }),
    },
    plain(
        "group_policy",
        "group-policy",
        "Group Policy",
        &[GROUP_POLICY],
        NAME,
        ALL_OPS,
    ),
    // Not paginated (a plain array); no PATCH: delete and re-add to change a membership.
    Resource {
        store: "group_policy_jump_group",
        path: "jump-group",
        what: "Group Policy Jump Group",
        fields: &[GROUP_POLICY_JUMP_GROUP],
        filters: &[],
        ops: Ops {
            update: false,
            ..ALL_OPS
        },
        paginated: false,
        parent: Some(Parent {
            path: "group-policy",
            sub: "jump-group",
            field: "group_policy_id",
            of: "group_policy",
            key: "jump_group_id",
        }),
    },
    plain(
        "jump_policy",
        "jump-policy",
        "Jump Policy",
        &[JUMP_POLICY],
        &[("code_name", FilterKind::Str)],
        ALL_OPS,
    ),
    plain(
        "jump_item_role",
        "jump-item-role",
        "Jump Item Role",
        &[JUMP_ITEM_ROLE],
        NAME,
        READ_OPS,
    ),
    // `hostname`, `public_ip` and `private_ip` match a jumpoint's nodes on the appliance; an
    // estate row has no nodes, so they match fields of the same name on the row, if any.
    plain(
        "jumpoint",
        "jumpoint",
        "Jumpoint",
        &[JUMPOINT],
        &[
            ("name", FilterKind::Str),
            ("public_ip", FilterKind::Str),
            ("private_ip", FilterKind::Str),
            ("hostname", FilterKind::Str),
            ("code_name", FilterKind::Str),
        ],
        ALL_OPS,
    ),
    plain(
        "user",
        "user",
        "User",
        &[USER],
        &[
            ("security_provider_id", FilterKind::Int),
            ("username", FilterKind::Str),
            ("email_address", FilterKind::Str),
        ],
        ALL_OPS,
    ),
    plain("team", "team", "Team", &[TEAM], NAME_CODE, ALL_OPS),
    // List only: no get-one, no writes.
    plain(
        "session_policy",
        "session-policy",
        "Session Policy",
        &[SESSION_POLICY],
        &[],
        Ops {
            get: false,
            ..READ_OPS
        },
    ),
    plain(
        "vault_account",
        "vault/account",
        "Vault Account",
        &[VAULT_ACCOUNT],
        &[
            ("type", FilterKind::Str),
            ("name", FilterKind::Str),
            ("include_personal", FilterKind::IncludePersonal),
            ("account_group_id", FilterKind::Int),
            ("endpoint_id", FilterKind::Int),
        ],
        ALL_OPS,
    ),
    plain(
        "vault_account_group",
        "vault/account-group",
        "Vault Account Group",
        &[VAULT_ACCOUNT_GROUP],
        NAME,
        ALL_OPS,
    ),
];

/// The body of `POST /jump-item/{type}/{id}/copy` and `/jump-client/{id}/copy` (`JumpItem`).
pub(super) const COPY_BODY: &[Field] = &[
    f("jump_group_id", ID).req(),
    f("jump_group_type", Kind::Enum(&["shared", "personal"])).req(),
    f("name", s(1, 128)).req(),
];

/// The resource stored under `key`.
pub(super) fn by_store(key: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.store == key)
}

// ---------------------------------------------------------------------------------------------
// Serving.

/// A row as the API serves it: fields in the vendor's order, documented defaults filled in,
/// write-only fields, the stored-only parent id and `_annotations` left out, and vendor fields
/// the tables do not know kept at the end.
pub(super) fn serve(res: &Resource, row: &Row) -> Row {
    let mut out = Row::new();
    for field in res.fields() {
        if field.access == Access::WriteOnly {
            continue;
        }
        match row.get(field.name) {
            Some(v) => {
                out.insert(field.name.to_owned(), served_value(field, v));
            }
            None => {
                if let Some(d) = default_of(res, field, row) {
                    out.insert(field.name.to_owned(), d);
                }
            }
        }
    }
    let parent_field = res.parent.map(|p| p.field);
    for (k, v) in row {
        if out.contains_key(k) || k.starts_with('_') || Some(k.as_str()) == parent_field {
            continue;
        }
        if res.field(k).is_some_and(|f| f.access == Access::WriteOnly) {
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    out
}

/// The value served for a field: ids typed as strings become strings, date-times get `+00:00`.
fn served_value(field: &Field, v: &Value) -> Value {
    match (field.kind, v) {
        (Kind::StringIds { .. }, Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|i| match i {
                    Value::Number(n) => Value::String(n.to_string()),
                    other => other.clone(),
                })
                .collect(),
        ),
        (Kind::DateTime, Value::String(s)) => {
            Value::String(utc_datetime(s).unwrap_or_else(|| s.clone()))
        }
        _ => v.clone(),
    }
}

/// The documented default of a field for this row.
pub(super) fn default_of(res: &Resource, field: &Field, row: &Row) -> Option<Value> {
    if res.store == "jump_item/shell-jump" && field.name == "port" {
        let telnet = row.get("protocol").and_then(Value::as_str) == Some("telnet");
        return Some(Value::from(if telnet { 23 } else { 22 }));
    }
    serde_json::from_str(field.default?).ok()
}

/// An RFC 3339 date-time in UTC, written `YYYY-MM-DDTHH:MM:SS+00:00` (milliseconds dropped, as
/// the appliance ignores them). `None` when `s` is not a UTC date-time.
pub(super) fn utc_datetime(s: &str) -> Option<String> {
    let zone_ok = s.ends_with('Z') || s.ends_with("+00:00") || s.ends_with('z');
    if !zone_ok {
        return None;
    }
    let ts: jiff::Timestamp = s.parse().ok()?;
    Some(ts.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

// ---------------------------------------------------------------------------------------------
// Field validation (Laravel's messages, as the appliance's 422 bodies use them, §2.3).

fn words(name: &str) -> String {
    name.replace('_', " ")
}

/// Checks one value against its field; records an error and returns false when it is wrong.
pub(super) fn check_value(field: &Field, v: &Value, errors: &mut Errors) -> bool {
    let name = field.name;
    let w = words(name);
    if v.is_null() {
        if field.nullable {
            return true;
        }
        if field.access == Access::Required {
            errors.add(name, format!("The {w} field is required."));
            return false;
        }
    }
    let problem = match field.kind {
        Kind::Int { min, max } => match v.as_i64() {
            None => Some(format!("The {w} field must be an integer.")),
            Some(n) if n < min || n > max => {
                Some(format!("The {w} field must be between {min} and {max}."))
            }
            Some(_) => None,
        },
        Kind::Str { min, max } => match v.as_str() {
            None => Some(format!("The {w} field must be a string.")),
            Some(text) => {
                let len = text.chars().count();
                if len < min {
                    Some(if min == 1 {
                        format!("The {w} field is required.")
                    } else {
                        format!("The {w} field must be at least {min} characters.")
                    })
                } else if len > max {
                    Some(format!(
                        "The {w} field must not be greater than {max} characters."
                    ))
                } else {
                    None
                }
            }
        },
        Kind::Bool => (!v.is_boolean()).then(|| format!("The {w} field must be true or false.")),
        Kind::Enum(allowed) => match v.as_str() {
            Some(text) if allowed.contains(&text) => None,
            _ => Some(format!("The selected {w} is invalid.")),
        },
        Kind::Strings { max } => match v.as_array() {
            None => Some(format!("The {w} field must be an array.")),
            Some(items) if items.len() > max => Some(format!(
                "The {w} field must not have more than {max} items."
            )),
            Some(items) => items
                .iter()
                .position(|i| !i.is_string())
                .map(|i| format!("The {w}.{i} field must be a string.")),
        },
        Kind::StringIds { max } => match v.as_array() {
            None => Some(format!("The {w} field must be an array.")),
            Some(items) if items.len() > max => Some(format!(
                "The {w} field must not have more than {max} items."
            )),
            Some(items) => items
                .iter()
                .position(|i| id_of(i).is_none())
                .map(|i| format!("The {w}.{i} field must be an id.")),
        },
        Kind::Array { max } => match v.as_array() {
            None => Some(format!("The {w} field must be an array.")),
            Some(items) if items.len() > max => Some(format!(
                "The {w} field must not have more than {max} items."
            )),
            Some(_) => None,
        },
        Kind::DateTime => match v.as_str().map(utc_datetime) {
            Some(Some(_)) => None,
            _ => Some(format!(
                "The {w} field must be a date-time in UTC (RFC 3339, `Z` or `+00:00`)."
            )),
        },
        Kind::CodeName => match v.as_str() {
            None => Some(format!("The {w} field must be a string.")),
            Some(text) if text.chars().count() > 64 => Some(format!(
                "The {w} field must not be greater than 64 characters."
            )),
            Some(text)
                if !text.is_empty()
                    && !text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                Some(format!("The {w} field format is invalid."))
            }
            Some(_) => None,
        },
        Kind::Any => None,
    };
    match problem {
        Some(text) => {
            errors.add(name, text);
            false
        }
        None => true,
    }
}

/// A positive id given as a number or a numeric string.
pub(super) fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().filter(|i| *i > 0),
        Value::String(s) => s.parse().ok().filter(|i: &i64| *i > 0),
        _ => None,
    }
}

/// The value stored for a written field (ids typed as strings are stored as strings).
pub(super) fn stored_value(field: &Field, v: &Value) -> Value {
    match (field.kind, v) {
        (Kind::DateTime, Value::String(s)) => {
            Value::String(utc_datetime(s).unwrap_or_else(|| s.clone()))
        }
        _ => served_value(field, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_default_is_valid_json_and_fits_its_field() {
        for res in RESOURCES {
            for field in res.fields() {
                if let Some(text) = field.default {
                    let v: Value = serde_json::from_str(text)
                        .unwrap_or_else(|e| panic!("{}.{}: {e}", res.store, field.name));
                    let mut errors = Errors::default();
                    assert!(
                        check_value(field, &v, &mut errors),
                        "{}.{} default {text} is invalid: {errors:?}",
                        res.store,
                        field.name
                    );
                }
            }
        }
    }

    #[test]
    fn field_names_are_unique_per_resource() {
        for res in RESOURCES {
            let mut seen = std::collections::BTreeSet::new();
            for field in res.fields() {
                assert!(
                    seen.insert(field.name),
                    "{} repeats {}",
                    res.store,
                    field.name
                );
            }
            for (filter, _) in res.filters {
                let known = res.field(filter).is_some()
                    || matches!(
                        *filter,
                        "include_personal" | "public_ip" | "private_ip" | "hostname"
                    );
                assert!(known, "{} filters on unknown {filter}", res.store);
            }
        }
    }

    #[test]
    fn a_sparse_row_is_served_with_its_defaults_in_the_vendor_order() {
        let res = by_store("jump_policy").unwrap();
        let row = json!({"id": 3, "display_name": "P", "approval_user_ids": [4], "_note": "x"});
        let served = serve(res, row.as_object().unwrap());
        assert_eq!(served["approval_required"], false);
        assert_eq!(served["approval_max_duration"], 480);
        assert_eq!(served["approval_approver_scope"], "not_requestor");
        assert_eq!(served["schedule_enabled"], false);
        assert_eq!(served["approval_user_ids"], json!(["4"]));
        assert!(!served.contains_key("_note"));
        let keys: Vec<&str> = served.keys().map(String::as_str).take(3).collect();
        assert_eq!(keys, ["id", "display_name", "schedule_enabled"]);

        let shell = by_store("jump_item/shell-jump").unwrap();
        let telnet = serve(
            shell,
            json!({"id": 1, "protocol": "telnet"}).as_object().unwrap(),
        );
        assert_eq!(telnet["port"], 23);
        assert_eq!(telnet["jump_group_type"], "shared");
        assert_eq!(telnet["jump_policy_id"], Value::Null);
    }

    #[test]
    fn membership_rows_are_served_without_their_parent_id() {
        let res = by_store("jump_group_user").unwrap();
        let served = serve(
            res,
            json!({"jump_group_id": 4, "user_id": 12})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            Value::Object(served),
            json!({"user_id": 12, "jump_item_role_id": null, "jump_policy_id": null})
        );
    }

    #[test]
    fn date_times_are_served_with_an_explicit_utc_offset() {
        assert_eq!(
            utc_datetime("2026-11-25T07:12:44Z").as_deref(),
            Some("2026-11-25T07:12:44+00:00")
        );
        assert_eq!(
            utc_datetime("2026-11-25T07:12:44.123+00:00").as_deref(),
            Some("2026-11-25T07:12:44+00:00")
        );
        assert_eq!(utc_datetime("2026-11-25T07:12:44+02:00"), None);
        assert_eq!(utc_datetime("2026-11-25T07:12:44"), None);
    }

    #[test]
    fn values_are_checked_with_laravel_messages() {
        let res = by_store("jump_policy").unwrap();
        let mut errors = Errors::default();
        assert!(!check_value(
            res.field("approval_max_duration").unwrap(),
            &json!("480"),
            &mut errors
        ));
        assert!(!check_value(
            res.field("code_name").unwrap(),
            &json!("a b"),
            &mut errors
        ));
        assert!(!check_value(
            res.field("display_name").unwrap(),
            &Value::Null,
            &mut errors
        ));
        assert!(check_value(
            res.field("approval_team_ids").unwrap(),
            &json!(["3", 4]),
            &mut errors
        ));
        assert!(!check_value(
            res.field("approval_scope").unwrap(),
            &json!("everyone"),
            &mut errors
        ));
        let body = errors.into_response();
        assert_eq!(body.status(), 422);
    }
}
