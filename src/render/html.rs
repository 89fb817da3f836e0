//! The HTML report: one self-contained page for the nightly compliance report. Inline `<style>`,
//! inline SVG charts, no script, no external resource of any kind (a Content-Security-Policy in the
//! page says so to the browser too), so it can be archived, mailed or served as it is.
//!
//! Markup is written through [`Html`], whose only way to emit unescaped text takes a
//! `&'static str`: every string that comes from the estate or the policy is escaped by
//! construction, in text, in attributes and inside SVG alike.

use std::collections::BTreeMap;
use std::fmt::Display;

use super::changes::changes;
use super::Context;
use crate::analysis::{
    AttestationInfo, AttestationStatus, Finding, Location, PathElement, Report, WaiverInfo,
    WaiverStatus, EXPIRY_WARNING_DAYS,
};
use crate::estate::SourceStatus;
use crate::rules::{Rule, Severity};

/// Renders the report as one HTML5 document.
pub fn render(report: &Report, ctx: &Context) -> String {
    let mut h = Html::default();
    head(&mut h, report);
    h.raw("<body>\n");
    banner(&mut h, report);
    h.raw("<main>\n");
    nav(&mut h, report, ctx.previous.is_some());
    summary(&mut h, report);
    if let Some(previous) = ctx.previous {
        since_previous(&mut h, report, previous);
    }
    targets(&mut h, report);
    not_counted(&mut h, report);
    waivers(&mut h, report);
    attestations(&mut h, report);
    h.raw("</main>\n<footer>")
        .text(&report.tool.name)
        .raw(" ")
        .text(&report.tool.version)
        .raw(" · expiries judged as of ")
        .text(&report.as_of)
        .raw("</footer>\n</body>\n</html>\n");
    h.out
}

/// Escapes text for HTML: `&`, `<`, `>`, `"` and `'`. Safe in element content and in quoted
/// attribute values, in HTML and in inline SVG.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A writer that escapes everything but its own markup.
#[derive(Default)]
struct Html {
    out: String,
}

impl Html {
    /// Markup written by this renderer. `'static` so that no runtime string can get here.
    fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Text (or an attribute value), escaped.
    fn text(&mut self, s: &str) -> &mut Self {
        escape_into(&mut self.out, s);
        self
    }

    /// A value that is not a string (numbers, dates), escaped like text all the same.
    fn show(&mut self, v: impl Display) -> &mut Self {
        escape_into(&mut self.out, &v.to_string());
        self
    }
}

const STYLE: &str = r#"<style>
:root{--fg:#1f2328;--muted:#59636e;--bg:#fff;--panel:#f6f8fa;--line:#d1d9e0;
--critical:#a40e26;--high:#d1242f;--medium:#bc4c00;--low:#9a6700;--info:#0969da;--ok:#1a7f37;--warn:#9a6700}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--panel:#151b23;
--line:#3d444d;--critical:#ff6a69;--high:#f47067;--medium:#f0883e;--low:#d29922;--info:#4493f8;--ok:#3fb950;--warn:#d29922}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:0 1rem 2rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
h2{border-bottom:1px solid var(--line);padding-bottom:.3rem;margin-top:2rem}
h3{margin:1.5rem 0 .5rem}
.banner{padding:1.25rem 1rem;color:#fff}
.banner>div{max-width:1100px;margin:0 auto}
.banner h1{margin:0;font-size:1.6rem}
.banner p{margin:.25rem 0 0}
.verdict-compliant{background:#1a7f37}.verdict-violations{background:#a40e26}.verdict-incomplete{background:#9a6700}
.status{display:inline-block;font-weight:700;letter-spacing:.08em;border:2px solid #fff;border-radius:4px;padding:0 .5rem;margin-right:.5rem}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.5rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.5rem}
.charts{display:flex;flex-wrap:wrap;gap:2rem}
figure{margin:0}
figcaption{font-weight:600;margin-bottom:.25rem}
svg text{fill:var(--fg);font:12px system-ui,sans-serif}
svg .count{fill:var(--muted)}
rect.sev-critical{fill:var(--critical)}rect.sev-high{fill:var(--high)}rect.sev-medium{fill:var(--medium)}
rect.sev-low{fill:var(--low)}rect.sev-info{fill:var(--info)}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
td .badge{overflow-wrap:normal}
th{background:var(--panel)}
td.num,th.num{text-align:right}
.badge{display:inline-block;border-radius:1em;padding:0 .6em;font-size:.8em;font-weight:600;color:#fff;text-transform:uppercase}
.badge.sev-critical{background:var(--critical)}.badge.sev-high{background:var(--high)}.badge.sev-medium{background:var(--medium)}
.badge.sev-low{background:var(--low)}.badge.sev-info{background:var(--info)}
.finding{border:1px solid var(--line);border-left:4px solid var(--line);border-radius:6px;padding:.5rem .75rem;margin:.5rem 0}
.finding.sev-critical{border-left-color:var(--critical)}.finding.sev-high{border-left-color:var(--high)}
.finding.sev-medium{border-left-color:var(--medium)}.finding.sev-low{border-left-color:var(--low)}.finding.sev-info{border-left-color:var(--info)}
.finding p{margin:.25rem 0}
.finding dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .75rem;margin:.25rem 0 0;font-size:.9em}
.finding dt{color:var(--muted)}.finding dd{margin:0;overflow-wrap:anywhere}
ol.path{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.25rem}
ol.path li+li::before{content:"\2192\00a0";color:var(--muted)}
.kind{color:var(--muted);font-size:.85em}
.muted{color:var(--muted)}
.st-expired{color:var(--critical);font-weight:700}.st-expiring{color:var(--warn);font-weight:700}
.st-active,.st-valid{color:var(--ok)}.st-ignored{color:var(--muted)}
.attention{border-left:4px solid var(--warn);background:var(--panel);padding:.5rem .75rem}
footer{max-width:1100px;margin:0 auto;padding:1rem;color:var(--muted);font-size:.85em}
@media print{.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}details{display:block}}
</style>
"#;

fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "sev-critical",
        Severity::High => "sev-high",
        Severity::Medium => "sev-medium",
        Severity::Low => "sev-low",
        Severity::Info => "sev-info",
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn head(h: &mut Html, report: &Report) {
    h.raw(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"",
    )
    .text(&report.tool.name)
    .raw(" ")
    .text(&report.tool.version)
    .raw("\">\n<title>jumpguard compliance report: ")
    .raw(report.verdict.name())
    .raw(" (")
    .text(&report.as_of)
    .raw(")</title>\n")
    .raw(STYLE)
    .raw("</head>\n");
}

fn source(h: &mut Html, name: &'static str, s: &SourceStatus) {
    h.raw(name).raw(" ").raw(s.status.name());
    if let Some(reason) = s.reason.as_deref().filter(|r| !r.is_empty()) {
        h.raw(" (").text(reason).raw(")");
    }
}

fn banner(h: &mut Html, report: &Report) {
    let s = &report.summary;
    h.raw("<header class=\"banner verdict-")
        .raw(report.verdict.name())
        .raw("\"><div>\n<h1><span class=\"status\">")
        .raw(report.verdict.status_word())
        .raw("</span>Verdict: ")
        .raw(report.verdict.name())
        .raw("</h1>\n<p>")
        .show(s.findings)
        .raw(plural(s.findings, " finding counts", " findings count"))
        .raw(" toward the verdict · ")
        .show(s.waived)
        .raw(" waived · ")
        .show(s.baseline)
        .raw(" known from the baseline</p>\n<p>As of ")
        .text(&report.as_of)
        .raw(" · ");
    source(h, "PRA", &report.sources.pra);
    h.raw(" · ");
    source(h, "Password Safe", &report.sources.password_safe);
    h.raw("</p>\n</div></header>\n");
}

fn nav(h: &mut Html, report: &Report, previous: bool) {
    h.raw("<nav aria-label=\"Sections\"><ul>\n<li><a href=\"#summary\">Summary</a></li>\n");
    if previous {
        h.raw("<li><a href=\"#changes\">Since the previous report</a></li>\n");
    }
    h.raw("<li><a href=\"#targets\">Findings by target</a></li>\n");
    if report.findings.iter().any(|f| !f.counts()) {
        h.raw("<li><a href=\"#not-counted\">Waived and baseline</a></li>\n");
    }
    if !report.waivers.is_empty() {
        h.raw("<li><a href=\"#waivers\">Waivers</a></li>\n");
    }
    if !report.attestations.is_empty() {
        h.raw("<li><a href=\"#attestations\">Attestations</a></li>\n");
    }
    h.raw("</ul></nav>\n");
}

fn summary(h: &mut Html, report: &Report) {
    let s = &report.summary;
    h.raw("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    for (label, n) in [
        ("findings", s.findings),
        ("waived", s.waived),
        ("baseline", s.baseline),
        ("targets", s.targets),
        ("access paths", s.paths),
    ] {
        h.raw("<div class=\"card\"><b>")
            .show(n)
            .raw("</b>")
            .raw(label)
            .raw("</div>\n");
    }
    h.raw("</div>\n<div class=\"charts\">\n");
    let by_severity: Vec<Bar> = Severity::ALL
        .iter()
        .map(|&sev| Bar {
            label: sev.as_str().to_string(),
            count: s.by_severity.get(sev),
            severity: sev,
        })
        .collect();
    chart(
        h,
        "chart-severity",
        "Findings by severity",
        &by_severity,
        70,
    );
    let mut rules: BTreeMap<Rule, (usize, Severity)> = BTreeMap::new();
    for f in report.unwaived() {
        let e = rules.entry(f.rule).or_insert((0, f.severity));
        e.0 += 1;
        e.1 = e.1.max(f.severity);
    }
    let mut by_rule: Vec<Bar> = rules
        .into_iter()
        .map(|(rule, (count, severity))| Bar {
            label: rule.id().to_string(),
            count,
            severity,
        })
        .collect();
    // Most frequent first; ties in catalogue order (the map's order, kept by a stable sort).
    by_rule.sort_by_key(|b| std::cmp::Reverse(b.count));
    if by_rule.is_empty() {
        h.raw("<figure><figcaption>Findings by rule</figcaption><p>No finding counts toward the verdict.</p></figure>\n");
    } else {
        chart(h, "chart-rule", "Findings by rule", &by_rule, 180);
    }
    h.raw("</div>\n</section>\n");
}

/// One bar of a chart.
struct Bar {
    label: String,
    count: usize,
    severity: Severity,
}

/// A horizontal bar chart in inline SVG: a label, a bar and the count per row, with a `<title>`
/// for the chart and for each bar so that screen readers and tooltips say what it shows.
fn chart(h: &mut Html, id: &'static str, title: &'static str, bars: &[Bar], label_width: usize) {
    const ROW: usize = 24;
    const BAR_MAX: usize = 300;
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let width = label_width + BAR_MAX + 50;
    let height = ROW * bars.len() + 4;
    h.raw("<figure>\n<figcaption id=\"")
        .raw(id)
        .raw("-caption\">")
        .raw(title)
        .raw("</figcaption>\n<svg role=\"img\" width=\"")
        .show(width)
        .raw("\" height=\"")
        .show(height)
        .raw("\" viewBox=\"0 0 ")
        .show(width)
        .raw(" ")
        .show(height)
        .raw("\" aria-labelledby=\"")
        .raw(id)
        .raw("-title ")
        .raw(id)
        .raw("-desc\">\n<title id=\"")
        .raw(id)
        .raw("-title\">")
        .raw(title)
        .raw("</title>\n<desc id=\"")
        .raw(id)
        .raw("-desc\">");
    for (i, b) in bars.iter().enumerate() {
        if i > 0 {
            h.raw(", ");
        }
        h.text(&b.label).raw(": ").show(b.count);
    }
    h.raw("</desc>\n");
    for (i, b) in bars.iter().enumerate() {
        let y = i * ROW + 2;
        let bar = b.count * BAR_MAX / max;
        h.raw("<g><title>")
            .text(&b.label)
            .raw(": ")
            .show(b.count)
            .raw("</title><text x=\"0\" y=\"")
            .show(y + 16)
            .raw("\">")
            .text(&b.label)
            .raw("</text><rect class=\"bar ")
            .raw(sev_class(b.severity))
            .raw("\" x=\"")
            .show(label_width)
            .raw("\" y=\"")
            .show(y + 3)
            .raw("\" width=\"")
            .show(bar)
            .raw("\" height=\"")
            .show(ROW - 6)
            .raw("\" rx=\"2\"/><text class=\"count\" x=\"")
            .show(label_width + bar + 6)
            .raw("\" y=\"")
            .show(y + 16)
            .raw("\">")
            .show(b.count)
            .raw("</text></g>\n");
    }
    h.raw("</svg>\n</figure>\n");
}

fn location(h: &mut Html, l: &Location) {
    h.raw("<code>")
        .text(&l.file)
        .raw(":")
        .show(l.line)
        .raw(":")
        .show(l.column)
        .raw("</code>");
}

fn opt(h: &mut Html, s: Option<&str>) {
    match s {
        Some(s) => h.text(s),
        None => h.raw("<span class=\"muted\">–</span>"),
    };
}

fn badge(h: &mut Html, s: Severity) {
    h.raw("<span class=\"badge ")
        .raw(sev_class(s))
        .raw("\">")
        .raw(s.as_str())
        .raw("</span>");
}

/// A finding in full: severity, rule, host, message, the path of live objects, the policy location.
fn finding(h: &mut Html, f: &Finding) {
    h.raw("<article class=\"finding ")
        .raw(sev_class(f.severity))
        .raw("\">\n<p>");
    badge(h, f.severity);
    h.raw(" <code>").raw(f.rule.id()).raw("</code>");
    if let Some(host) = &f.host {
        h.raw(" on <strong>").text(host).raw("</strong>");
    }
    h.raw("</p>\n<p class=\"message\">")
        .text(&f.message)
        .raw("</p>\n<dl>\n");
    if !f.path.is_empty() {
        h.raw("<dt>Path</dt><dd><ol class=\"path\">");
        for e in &f.path {
            h.raw("<li><span class=\"kind\">")
                .text(&e.kind.replace('_', " "));
            if let Some(t) = &e.item_type {
                h.raw(" (").text(t).raw(")");
            }
            if let Some(id) = e.id {
                h.raw(" #").show(id);
            }
            h.raw("</span> ").text(&e.name).raw("</li>");
        }
        h.raw("</ol></dd>\n");
    }
    h.raw("<dt>Policy</dt><dd>");
    location(h, &f.location);
    h.raw("</dd>\n");
    if let Some(w) = &f.waiver {
        h.raw("<dt>Waived</dt><dd>")
            .text(&w.reason)
            .raw(" · until ")
            .text(&w.expires);
        if let Some(owner) = &w.owner {
            h.raw(" · ").text(owner);
        }
        if let Some(ticket) = &w.ticket {
            h.raw(" · ").text(ticket);
        }
        h.raw(" · ");
        location(h, &w.location);
        h.raw("</dd>\n");
    }
    if f.baseline {
        h.raw("<dt>Baseline</dt><dd>known from the baseline, not counted</dd>\n");
    }
    h.raw("<dt>Fingerprint</dt><dd><code>")
        .text(&f.fingerprint)
        .raw("</code></dd>\n</dl>\n</article>\n");
}

/// A compact table of findings (for what changed since the previous report).
fn finding_table(h: &mut Html, list: &[&Finding]) {
    h.raw("<table>\n<thead><tr><th>Severity</th><th>Rule</th><th>Target</th><th>Host</th><th>Message</th><th>Policy</th></tr></thead>\n<tbody>\n");
    for f in list {
        h.raw("<tr><td>");
        badge(h, f.severity);
        h.raw("</td><td><code>")
            .raw(f.rule.id())
            .raw("</code></td><td>");
        opt(h, f.target.as_deref());
        h.raw("</td><td>");
        opt(h, f.host.as_deref());
        h.raw("</td><td>").text(&f.message).raw("</td><td>");
        location(h, &f.location);
        h.raw("</td></tr>\n");
    }
    h.raw("</tbody>\n</table>\n");
}

fn since_previous(h: &mut Html, report: &Report, previous: &Report) {
    let c = changes(report, previous);
    h.raw("<section id=\"changes\">\n<h2>Since the previous report</h2>\n<p>Compared with the report as of ")
        .text(&previous.as_of)
        .raw(" (verdict ")
        .raw(previous.verdict.name())
        .raw("): ")
        .show(c.new.len())
        .raw(" new, ")
        .show(c.fixed.len())
        .raw(" fixed, ")
        .show(c.excused.len())
        .raw(" waived or baselined since.</p>\n");
    for (title, list) in [
        ("New since the previous report", &c.new),
        ("Fixed since the previous report", &c.fixed),
        ("Waived or baselined since the previous report", &c.excused),
    ] {
        h.raw("<h3>")
            .raw(title)
            .raw(" (")
            .show(list.len())
            .raw(")</h3>\n");
        if list.is_empty() {
            h.raw("<p class=\"muted\">None.</p>\n");
        } else {
            finding_table(h, list);
        }
    }
    h.raw("</section>\n");
}

/// Counted findings by target (targets in name order, site-wide last), each target with the hosts
/// and access paths its findings concern.
fn targets(h: &mut Html, report: &Report) {
    let mut groups: Vec<(Option<&str>, Vec<&Finding>)> = Vec::new();
    for f in report.unwaived() {
        let key = f.target.as_deref();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    groups.sort_by_key(|(k, _)| (k.is_none(), *k));
    h.raw("<section id=\"targets\">\n<h2>Findings by target</h2>\n");
    if groups.is_empty() {
        h.raw("<p>No finding counts toward the verdict.</p>\n");
    }
    for (i, (target, list)) in groups.iter().enumerate() {
        h.raw("<section class=\"target\" id=\"target-")
            .show(i + 1)
            .raw("\">\n<h3>");
        match target {
            Some(t) => h.raw("Target <code>").text(t).raw("</code>"),
            None => h.raw("Site-wide"),
        };
        let mut hosts: Vec<&str> = list.iter().filter_map(|f| f.host.as_deref()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        // Distinct access paths: several rules can fire on one path.
        let mut seen: Vec<&[PathElement]> = Vec::new();
        for f in list {
            if !f.path.is_empty() && !seen.contains(&f.path.as_slice()) {
                seen.push(&f.path);
            }
        }
        let paths = seen.len();
        h.raw(" <small class=\"muted\">")
            .show(list.len())
            .raw(plural(list.len(), " finding", " findings"))
            .raw(" · ")
            .show(paths)
            .raw(plural(paths, " path", " paths"))
            .raw(" · ")
            .show(hosts.len())
            .raw(plural(hosts.len(), " host", " hosts"))
            .raw("</small></h3>\n");
        if !hosts.is_empty() {
            h.raw("<p>Hosts: ");
            for (j, host) in hosts.iter().enumerate() {
                if j > 0 {
                    h.raw(", ");
                }
                h.raw("<code>").text(host).raw("</code>");
            }
            h.raw("</p>\n");
        }
        for f in list {
            finding(h, f);
        }
        h.raw("</section>\n");
    }
    h.raw("</section>\n");
}

/// Waived and baseline findings: in the report, not in the verdict.
fn not_counted(h: &mut Html, report: &Report) {
    let waived: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.waiver.is_some())
        .collect();
    let baseline: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.baseline && f.waiver.is_none())
        .collect();
    if waived.is_empty() && baseline.is_empty() {
        return;
    }
    h.raw("<section id=\"not-counted\">\n<h2>Waived and baseline findings</h2>\n");
    for (title, list) in [("Waived", &waived), ("Known from the baseline", &baseline)] {
        if list.is_empty() {
            continue;
        }
        h.raw("<details>\n<summary>")
            .raw(title)
            .raw(" (")
            .show(list.len())
            .raw(")</summary>\n");
        for f in list.iter() {
            finding(h, f);
        }
        h.raw("</details>\n");
    }
    h.raw("</section>\n");
}

fn days(h: &mut Html, days_left: i64) {
    match days_left {
        0 => h.raw("last day today"),
        d if d > 0 => h
            .show(d)
            .raw(plural(d.unsigned_abs() as usize, " day left", " days left")),
        d => {
            h.show(d.unsigned_abs())
                .raw(plural(d.unsigned_abs() as usize, " day ago", " days ago"))
        }
    };
}

fn attention(h: &mut Html, expiring: usize, expired: usize) {
    if expiring + expired == 0 {
        return;
    }
    h.raw("<p class=\"attention\"><strong>Attention:</strong> ")
        .show(expiring)
        .raw(" expiring within ")
        .show(EXPIRY_WARNING_DAYS)
        .raw(" days, ")
        .show(expired)
        .raw(" expired.</p>\n");
}

fn waivers(h: &mut Html, report: &Report) {
    if report.waivers.is_empty() {
        return;
    }
    let count = |s: WaiverStatus| report.waivers.iter().filter(|w| w.status == s).count();
    h.raw("<section id=\"waivers\">\n<h2>Waivers</h2>\n");
    attention(
        h,
        count(WaiverStatus::Expiring),
        count(WaiverStatus::Expired),
    );
    h.raw("<table>\n<thead><tr><th>Rule</th><th>Target</th><th>Host</th><th>Reason</th><th>Owner</th><th>Ticket</th><th>Expires</th><th>Status</th><th class=\"num\">Covers</th><th>Policy</th></tr></thead>\n<tbody>\n");
    for w in &report.waivers {
        waiver_row(h, w);
    }
    h.raw("</tbody>\n</table>\n</section>\n");
}

fn waiver_row(h: &mut Html, w: &WaiverInfo) {
    let (class, word) = match w.status {
        WaiverStatus::Active => ("st-active", "active"),
        WaiverStatus::Expiring => ("st-expiring", "EXPIRING"),
        WaiverStatus::Expired => ("st-expired", "EXPIRED"),
        WaiverStatus::Ignored => ("st-ignored", "ignored (--no-waivers)"),
    };
    h.raw("<tr><td><code>")
        .raw(w.rule.id())
        .raw("</code></td><td>");
    opt(h, w.target.as_deref());
    h.raw("</td><td>");
    opt(h, w.host.as_deref());
    h.raw("</td><td>").text(&w.reason).raw("</td><td>");
    opt(h, w.owner.as_deref());
    h.raw("</td><td>");
    opt(h, w.ticket.as_deref());
    h.raw("</td><td>")
        .text(&w.expires)
        .raw("</td><td class=\"")
        .raw(class)
        .raw("\">")
        .raw(word);
    if w.status != WaiverStatus::Ignored {
        h.raw(", ");
        days(h, w.days_left);
    }
    h.raw("</td><td class=\"num\">")
        .show(w.covers)
        .raw("</td><td>");
    location(h, &w.location);
    h.raw("</td></tr>\n");
}

fn attestations(h: &mut Html, report: &Report) {
    if report.attestations.is_empty() {
        return;
    }
    let count = |s: AttestationStatus| report.attestations.iter().filter(|a| a.status == s).count();
    h.raw("<section id=\"attestations\">\n<h2>Attestations</h2>\n");
    attention(
        h,
        count(AttestationStatus::Expiring),
        count(AttestationStatus::Expired),
    );
    h.raw("<table>\n<thead><tr><th>Setting</th><th>Value</th><th>By</th><th>Attested on</th><th>Expires</th><th>Status</th><th>Policy</th></tr></thead>\n<tbody>\n");
    for a in &report.attestations {
        attestation_row(h, a);
    }
    h.raw("</tbody>\n</table>\n</section>\n");
}

fn attestation_row(h: &mut Html, a: &AttestationInfo) {
    let (class, word) = match a.status {
        AttestationStatus::Valid => ("st-valid", "valid"),
        AttestationStatus::Expiring => ("st-expiring", "EXPIRING"),
        AttestationStatus::Expired => ("st-expired", "EXPIRED"),
    };
    h.raw("<tr><td><code>")
        .text(&a.setting)
        .raw("</code></td><td>")
        .show(a.value)
        .raw("</td><td>")
        .text(&a.by)
        .raw("</td><td>")
        .text(&a.attested_on)
        .raw("</td><td>")
        .text(&a.expires)
        .raw("</td><td class=\"")
        .raw(class)
        .raw("\">")
        .raw(word)
        .raw(", ");
    days(h, a.days_left);
    h.raw("</td><td>");
    location(h, &a.location);
    h.raw("</td></tr>\n");
}

#[cfg(test)]
mod tests {
    use super::super::changes::sample::{finding, mixed, report};
    use super::*;
    use crate::policy::Sources;

    fn html(report: &Report, previous: Option<&Report>) -> String {
        let sources = Sources::default();
        render(
            report,
            &Context {
                sources: &sources,
                color: false,
                previous,
            },
        )
    }

    const VOID: [&str; 2] = ["meta", "br"];
    const KNOWN: &[&str] = &[
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "div",
        "h1",
        "h2",
        "h3",
        "span",
        "p",
        "main",
        "nav",
        "ul",
        "li",
        "a",
        "section",
        "b",
        "figure",
        "figcaption",
        "svg",
        "desc",
        "g",
        "text",
        "rect",
        "code",
        "small",
        "strong",
        "article",
        "dl",
        "dt",
        "dd",
        "ol",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "footer",
        "details",
        "summary",
    ];

    /// Checks that every tag is one this renderer writes and that they nest properly: an
    /// injected tag would be unknown or unbalanced. Returns the tag names in order.
    fn tags(doc: &str) -> Vec<String> {
        let body = doc
            .strip_prefix("<!DOCTYPE html>\n")
            .expect("a doctype first");
        let (before, rest) = body.split_once("<style>").expect("a style");
        let (_, after) = rest.split_once("</style>").expect("a closed style");
        let doc = format!("{before}<style></style>{after}");
        let mut stack: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        let mut rest = doc.as_str();
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("a closed tag") + start;
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            let closing = tag.starts_with('/');
            let self_closing = tag.ends_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(KNOWN.contains(&name.as_str()), "unexpected tag <{tag}>");
            seen.push(name.clone());
            if closing {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.as_str()),
                    "misnested </{name}>"
                );
            } else if !self_closing && !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        seen
    }

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain-name.corp.example"), "plain-name.corp.example");
    }

    #[test]
    fn the_document_is_well_formed_and_self_contained() {
        let doc = html(&mixed(), None);
        tags(&doc);
        assert!(!doc.contains("<script"));
        assert!(!doc.contains("<link") && !doc.contains("<img") && !doc.contains("url("));
        assert!(!doc.contains("src="));
        assert!(doc.contains("default-src 'none'"));
    }

    #[test]
    fn hostile_strings_are_text_everywhere() {
        let mut f = finding(
            Rule::ApprovalMissing,
            Some("t\"><svg onload=alert(1)>"),
            Some("a|b'.corp.example"),
            "<script>alert(1)</script>",
        );
        f.location.file = "pol<i>cies/x.yaml".into();
        let mut r = report(vec![f]);
        r.sources.pra.reason = Some("<b>bold</b>".into());
        let doc = html(&r, None);
        tags(&doc);
        assert!(!doc.contains("<script"));
        assert!(doc.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(doc.contains("t&quot;&gt;&lt;svg onload=alert(1)&gt;"));
        assert!(doc.contains("a|b&#39;.corp.example"));
        assert!(doc.contains("pol&lt;i&gt;cies/x.yaml"));
        assert!(doc.contains("(&lt;b&gt;bold&lt;/b&gt;)"));
    }

    #[test]
    fn a_hostile_rule_label_is_escaped_inside_svg() {
        let mut h = Html::default();
        let bars = [Bar {
            label: "<tspan onclick='x'>&".into(),
            count: 2,
            severity: Severity::High,
        }];
        chart(&mut h, "c", "Chart", &bars, 100);
        assert!(!h.out.contains("<tspan"));
        assert!(h
            .out
            .contains("<title>&lt;tspan onclick=&#39;x&#39;&gt;&amp;: 2</title>"));
    }

    #[test]
    fn charts_have_a_bar_per_severity_and_per_rule_with_titles() {
        let doc = html(&mixed(), None);
        let (severity, rest) = doc
            .split_once("id=\"chart-severity-caption\"")
            .unwrap()
            .1
            .split_once("</svg>")
            .unwrap();
        assert_eq!(severity.matches("<rect class=\"bar ").count(), 5);
        for (sev, n) in [
            ("critical", 1),
            ("high", 1),
            ("medium", 2),
            ("low", 0),
            ("info", 0),
        ] {
            assert!(
                severity.contains(&format!("<title>{sev}: {n}</title>")),
                "{sev}: {n} in {severity}"
            );
            assert!(severity.contains(&format!("class=\"bar sev-{sev}\"")));
        }
        // The longest bar is full width, an empty one has none.
        assert!(severity.contains("width=\"300\""));
        assert!(severity.contains("width=\"0\""));
        let rules = rest.split_once("</svg>").unwrap().0;
        assert_eq!(rules.matches("<rect class=\"bar ").count(), 4);
        assert!(rules.contains("<title>jump-group-missing: 1</title>"));
        assert!(
            !rules.contains("site-recordings-disabled"),
            "waived findings are not charted"
        );
    }

    #[test]
    fn banner_counts_and_targets() {
        let doc = html(&mixed(), None);
        assert!(doc.contains("<header class=\"banner verdict-violations\">"));
        assert!(doc.contains("<span class=\"status\">FAIL</span>Verdict: violations"));
        assert!(doc.contains(
            "<p>4 findings count toward the verdict · 1 waived · 0 known from the baseline</p>"
        ));
        let dc = doc.find("Target <code>domain-controllers</code>").unwrap();
        let sql = doc.find("Target <code>sql-servers</code>").unwrap();
        let site = doc.find("<h3>Site-wide").unwrap();
        assert!(dc < sql && sql < site);
        assert!(doc.contains("2 findings · 1 path · 1 host"));
        assert!(doc.contains(
            "<span class=\"kind\">jump item (remote-rdp) #7</span> SRV-DC01 (copy)</li>"
        ));
        assert!(doc.contains("<code>policies/windows.yaml:12:5</code>"));

        let clean = html(&report(Vec::new()), None);
        assert!(clean.contains("<span class=\"status\">PASS</span>Verdict: compliant"));
        assert!(clean.contains("No finding counts toward the verdict."));
    }

    #[test]
    fn waivers_and_attestations_show_expiry() {
        let doc = html(&mixed(), None);
        assert!(doc.contains("<details>\n<summary>Waived (1)</summary>"));
        assert!(doc.contains("<td class=\"st-expiring\">EXPIRING, 9 days left</td>"));
        assert!(doc.contains("<td class=\"st-expired\">EXPIRED, 1 day ago</td>"));
        assert!(doc.contains("<strong>Attention:</strong> 1 expiring within 14 days, 0 expired."));
    }

    #[test]
    fn previous_report_gives_new_and_fixed() {
        let before = report(vec![
            finding(Rule::ApprovalMissing, Some("t"), Some("a"), "A"),
            finding(Rule::ReasonMissing, Some("t"), Some("b"), "B"),
        ]);
        let now = report(vec![
            finding(Rule::ApprovalMissing, Some("t"), Some("a"), "A"),
            finding(Rule::TicketIdMissing, Some("t"), Some("c"), "C"),
        ]);
        let doc = html(&now, Some(&before));
        tags(&doc);
        let changes = doc.split_once("<section id=\"changes\">").unwrap().1;
        let changes = changes.split_once("</section>").unwrap().0;
        let new = changes
            .split_once("New since the previous report (1)")
            .unwrap()
            .1;
        let (new, fixed) = new
            .split_once("Fixed since the previous report (1)")
            .unwrap();
        assert!(new.contains("ticket-id-missing") && !new.contains("approval-missing"));
        assert!(fixed.contains("reason-missing") && !fixed.contains("approval-missing"));
        assert!(html(&now, None).find("id=\"changes\"").is_none());
    }
}
