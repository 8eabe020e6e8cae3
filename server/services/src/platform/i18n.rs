//! The words of billing documents — invoices, credit notes, and the emails about them,
//! receipts, payment problems and spend alerts — in each [`Locale`], kept in Fluent files
//! (`locales/<code>/billing.ftl`), not in code. Values are formatted by the caller in the
//! reader's locale (dates, money) before they go in; counts go in as numbers, so a language
//! can choose its plural.
//!
//! Every language has every message (a test compares the files); a message missing at run
//! time is logged and written in English instead, never left blank.

use std::sync::OnceLock;

use fluent_bundle::{concurrent::FluentBundle, FluentArgs, FluentResource, FluentValue};
use tally_core::locale::Locale;

/// The Fluent source of each language, in [`Locale::ALL`]'s order.
pub const SOURCES: [(Locale, &str); 3] = [
    (Locale::En, include_str!("../../locales/en/billing.ftl")),
    (Locale::De, include_str!("../../locales/de/billing.ftl")),
    (Locale::Fr, include_str!("../../locales/fr/billing.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

/// The bundles, parsed once.
fn bundles() -> &'static [(Locale, Bundle)] {
    static BUNDLES: OnceLock<Vec<(Locale, Bundle)>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(locale, source)| {
                let id: unic_langid::LanguageIdentifier = locale.code().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // No invisible isolation marks around values: they would print in PDFs.
                bundle.set_use_isolating(false);
                let resource = FluentResource::try_new((*source).to_string()).unwrap_or_else(
                    |(partial, errors)| {
                        tracing::error!(
                            ?errors,
                            locale = locale.code(),
                            "a Fluent file does not parse"
                        );
                        partial
                    },
                );
                if let Err(errors) = bundle.add_resource(resource) {
                    tracing::error!(
                        ?errors,
                        locale = locale.code(),
                        "a Fluent file repeats a message"
                    );
                }
                (*locale, bundle)
            })
            .collect()
    })
}

fn bundle(locale: Locale) -> &'static Bundle {
    let all = bundles();
    &all.iter().find(|(l, _)| *l == locale).unwrap_or(&all[0]).1
}

/// A value of a message: text (already in the reader's form) or a count.
pub enum Arg<'a> {
    Text(&'a str),
    Count(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

/// The message `id` in `locale` with `args`; `Err` with what went wrong when the language
/// lacks it or a value it needs.
pub fn try_text(locale: Locale, id: &str, args: &[(&str, Arg<'_>)]) -> Result<String, String> {
    let bundle = bundle(locale);
    let pattern = bundle
        .get_message(id)
        .and_then(|m| m.value())
        .ok_or_else(|| format!("no message {id} in {}", locale.code()))?;
    let mut values = FluentArgs::new();
    for (name, arg) in args {
        match arg {
            Arg::Text(s) => values.set(*name, FluentValue::from(*s)),
            Arg::Count(n) => values.set(*name, FluentValue::from(*n)),
        }
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&values), &mut errors);
    if errors.is_empty() {
        Ok(text.into_owned())
    } else {
        Err(format!("{id} in {}: {errors:?}", locale.code()))
    }
}

/// The message `id` in `locale` with `args`; in English when the language lacks it (logged).
pub fn text(locale: Locale, id: &str, args: &[(&str, Arg<'_>)]) -> String {
    try_text(locale, id, args).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a message is missing from a language");
        try_text(Locale::En, id, args).unwrap_or_else(|_| id.to_string())
    })
}

/// Words of one language, for the code that writes a document or an email: `t.say("id",
/// &[...])`, and the language's own form of money and dates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Words(pub Locale);

impl Words {
    pub fn say(self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        text(self.0, id, args)
    }

    /// A message without values.
    pub fn word(self, id: &str) -> String {
        text(self.0, id, &[])
    }

    pub fn money(self, amount: tally_core::money::Money) -> String {
        self.0.money(amount)
    }

    pub fn date(self, day: chrono::NaiveDate) -> String {
        self.0.date(day)
    }

    /// The day an instant (UTC milliseconds) fell on, or nothing.
    pub fn date_of_millis(self, millis: i64) -> String {
        tally_core::billing::date_of_millis(millis)
            .map(|d| self.0.date(d))
            .unwrap_or_default()
    }

    /// `1–30 November 2026` for `2026-11` in the language; the text as it is otherwise.
    pub fn period(self, month: &str) -> String {
        tally_core::billing::BillingMonth::parse(month).map_or_else(
            || month.to_string(),
            |m| self.0.period(m.first_day(), m.last_day()),
        )
    }

    /// `November 2026` for `2026-11` in the language.
    pub fn month(self, month: &str) -> String {
        tally_core::billing::BillingMonth::parse(month).map_or_else(
            || month.to_string(),
            |m| {
                use chrono::Datelike;
                let first = m.first_day();
                self.0.month_year(first.year(), first.month())
            },
        )
    }

    /// A VAT rate in basis points: `19 %`, `8.1 %` · `8,1 %`.
    pub fn rate(self, rate_bp: u32) -> String {
        let label = tally_core::vat::rate_label(rate_bp);
        match self.0 {
            Locale::En => label,
            Locale::De | Locale::Fr => label.replace('.', ","),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// Each message of a Fluent file (and each attribute, as `id.attr`), with the variables
    /// it uses.
    fn messages(source: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in source.lines() {
            let starts_message =
                line.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && line.contains(" =");
            if starts_message {
                let id = line
                    .split(" =")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                found.entry(id.clone()).or_default();
                current = Some(id);
            } else if line.starts_with('#') || line.trim().is_empty() {
                if line.trim().is_empty() {
                    continue;
                }
                current = None;
            }
            if let Some(id) = &current {
                let vars = found.entry(id.clone()).or_default();
                let mut rest = line;
                while let Some(at) = rest.find("{ $") {
                    let name: String = rest[at + 3..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect();
                    vars.insert(name);
                    rest = &rest[at + 3..];
                }
            }
        }
        found
    }

    /// The test that fails on a message missing from any language: every language has the
    /// same messages as English, with the same values, and each file parses as Fluent.
    #[test]
    fn every_language_has_every_message_with_the_same_values() {
        let english = messages(SOURCES[0].1);
        assert!(english.len() > 40, "{english:?}");
        for (locale, source) in SOURCES {
            if let Err((_, errors)) = FluentResource::try_new(source.to_string()) {
                panic!("{} does not parse: {errors:?}", locale.code());
            }
            let theirs = messages(source);
            let missing: Vec<&String> = english
                .keys()
                .filter(|id| !theirs.contains_key(*id))
                .collect();
            let extra: Vec<&String> = theirs
                .keys()
                .filter(|id| !english.contains_key(*id))
                .collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, not in English {extra:?}",
                locale.code()
            );
            for (id, vars) in &english {
                assert_eq!(
                    &theirs[id],
                    vars,
                    "{} uses other values in {id}",
                    locale.code()
                );
            }
        }
    }

    /// Every message of every language formats without an error when given its values.
    #[test]
    fn every_message_formats_with_its_values() {
        for (locale, source) in SOURCES {
            for (id, vars) in messages(source) {
                let texts: Vec<String> = vars.iter().map(|v| format!("<{v}>")).collect();
                let args: Vec<(&str, Arg<'_>)> = vars
                    .iter()
                    .zip(&texts)
                    .map(|(v, t)| (v.as_str(), Arg::Text(t.as_str())))
                    .collect();
                let text = try_text(locale, &id, &args).unwrap();
                assert!(
                    !text.trim().is_empty(),
                    "{id} in {} is empty",
                    locale.code()
                );
                assert!(!text.contains('{'), "{id} in {}: {text}", locale.code());
            }
        }
    }

    #[test]
    fn a_missing_message_is_written_in_english_and_an_unknown_one_by_its_id() {
        assert!(try_text(Locale::De, "no-such-message", &[]).is_err());
        assert_eq!(text(Locale::De, "no-such-message", &[]), "no-such-message");
        assert_eq!(
            Words(Locale::De).say("invoice-total", &[("total", Arg::Text("5,00 €"))]),
            "Gesamtbetrag: 5,00 €"
        );
        assert_eq!(Words(Locale::Fr).rate(810), "8,1 %");
    }
}
