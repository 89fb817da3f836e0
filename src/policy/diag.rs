//! Policy files as sources, places in them, and the problems found while loading a policy,
//! rendered as miette diagnostics.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

use super::spanned::Loc;

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub usize);

/// One policy file's text and the name it is shown under.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user gave it (or `jumpguard:<pack>` for a built-in pack).
    pub name: String,
    /// The file's text.
    pub text: String,
    /// For a built-in pack: the `include` that brought it in.
    pub included_from: Option<Place>,
}

/// Every file a policy was read from.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The files, indexed by [`FileId`].
    pub files: Vec<SourceFile>,
}

impl Sources {
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: String, text: String) -> FileId {
        self.files.push(SourceFile {
            name,
            text,
            included_from: None,
        });
        FileId(self.files.len() - 1)
    }

    /// Where a place is reported: a place inside a built-in pack is reported at the `include`
    /// of the repository file that brought the pack in.
    pub fn reported(&self, place: Place) -> Place {
        let mut p = place;
        for _ in 0..8 {
            match self.files.get(p.file.0).and_then(|f| f.included_from) {
                Some(from) => p = from,
                None => break,
            }
        }
        p
    }

    /// The file of an id.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    /// The byte span of a place, for miette; a zero-length node spans the rest of its token.
    pub fn byte_span(&self, place: Place) -> SourceSpan {
        let text = &self.file(place.file).text;
        let start = char_to_byte(text, place.loc.offset);
        let len = if place.loc.len > 0 {
            char_to_byte(&text[start..], place.loc.len)
        } else {
            text[start..]
                .find(['\n', ':', ',', '}', ']'])
                .unwrap_or(text.len() - start)
                .max(1)
                .min(text.len() - start)
        };
        SourceSpan::new(start.into(), len)
    }
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(b, _)| b)
}

/// A place in a policy file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Place {
    /// The file.
    pub file: FileId,
    /// Where in it.
    pub loc: Loc,
}

impl Place {
    /// A place in a file.
    pub fn new(file: FileId, loc: Loc) -> Self {
        Place { file, loc }
    }

    /// The first line of a file: where findings point when nothing more precise exists.
    pub fn top_of(file: FileId) -> Self {
        Place {
            file,
            loc: Loc {
                line: 1,
                column: 1,
                offset: 0,
                len: 0,
            },
        }
    }
}

/// A problem with a policy: a YAML error, a schema violation or a semantic mistake.
#[derive(Clone, Debug)]
pub struct Problem {
    /// A short code such as `policy::unknown-key`.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where, when known.
    pub place: Option<Place>,
    /// The label under the offending text.
    pub label: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Other places involved (for example the first definition of a duplicate).
    pub others: Vec<(Place, String)>,
}

impl Problem {
    /// A problem at a place.
    pub fn at(
        code: &'static str,
        place: Place,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Problem {
            code,
            message: message.into(),
            place: Some(place),
            label: label.into(),
            help: None,
            others: Vec::new(),
        }
    }

    /// A problem with no place (a missing file, say).
    pub fn nowhere(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            place: None,
            label: String::new(),
            help: None,
            others: Vec::new(),
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds another place.
    pub fn also(mut self, place: Place, label: impl Into<String>) -> Self {
        self.others.push((place, label.into()));
        self
    }

    /// `file:line:col` of the problem, for one-line output.
    pub fn position(&self, sources: &Sources) -> String {
        match self.place {
            Some(p) => format!(
                "{}:{}:{}",
                sources.file(p.file).name,
                p.loc.line,
                p.loc.column
            ),
            None => "-".into(),
        }
    }

    /// The problem as a miette diagnostic over the policy sources.
    pub fn diagnostic<'a>(&'a self, sources: &'a Sources) -> ProblemDiagnostic<'a> {
        ProblemDiagnostic {
            problem: self,
            sources,
            related: self
                .others
                .iter()
                .filter(|(p, _)| Some(p.file) != self.place.map(|q| q.file))
                .map(|(p, l)| Located {
                    message: format!(
                        "{l} ({}:{}:{})",
                        sources.file(p.file).name,
                        p.loc.line,
                        p.loc.column
                    ),
                    place: *p,
                    sources,
                })
                .collect(),
            source_code: self.place.map(|p| {
                let f = sources.file(p.file);
                NamedSource::new(f.name.clone(), f.text.clone()).with_language("yaml")
            }),
        }
    }
}

/// A [`Problem`] borrowed together with the sources it points into.
pub struct ProblemDiagnostic<'a> {
    problem: &'a Problem,
    sources: &'a Sources,
    related: Vec<Located<'a>>,
    source_code: Option<NamedSource<String>>,
}

impl fmt::Debug for ProblemDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.problem, f)
    }
}

impl fmt::Display for ProblemDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl std::error::Error for ProblemDiagnostic<'_> {}

impl Diagnostic for ProblemDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.problem.code))
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.problem
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source_code
            .as_ref()
            .map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let place = self.problem.place?;
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(self.problem.label.clone()),
            self.sources.byte_span(place),
        )];
        for (p, l) in &self.problem.others {
            if p.file == place.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(l.clone()),
                    self.sources.byte_span(*p),
                ));
            }
        }
        Some(Box::new(labels.into_iter()))
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }
}

/// A second place of a problem that lies in another file.
struct Located<'a> {
    message: String,
    place: Place,
    sources: &'a Sources,
}

impl fmt::Debug for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for Located<'_> {}
impl Diagnostic for Located<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.sources.file(self.place.file).text as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(
                Some("here".into()),
                self.sources.byte_span(self.place),
            ),
        )))
    }
}

/// Renders diagnostics as text: graphical with colour, or graphical without (files, CI logs).
pub fn render_diagnostic(diag: &dyn Diagnostic, color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = handler.render_report(&mut out, diag);
    out
}

/// The closest candidate to a misspelt word, if one is close enough to suggest.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (levenshtein(&w, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(3) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("tagets", ["targets", "waivers"]),
            Some("targets")
        );
        assert_eq!(did_you_mean("zzz", ["targets", "waivers"]), None);
    }
}
