//! Address fields, country first: the state or province appears for countries that use one,
//! and the postal code's label and rule follow the country.

use leptos::prelude::*;
use tally_core::{
    address::AddressInput,
    country::{postal_code_label, subdivision_label, subdivisions, COUNTRIES},
};

use crate::components::{
    field::{Field, SelectField},
    live_errors::LiveErrors,
};

/// Field names (= error keys) and autocomplete tokens of one address form.
pub struct AddressNames {
    pub country: &'static str,
    pub line1: &'static str,
    pub line2: &'static str,
    pub city: &'static str,
    pub region: &'static str,
    pub postal_code: &'static str,
    /// `""` for the company's address, `"billing "` for the card's.
    pub section: &'static str,
}

pub const COMPANY: AddressNames = AddressNames {
    country: "country",
    line1: "line1",
    line2: "line2",
    city: "city",
    region: "region",
    postal_code: "postal_code",
    section: "",
};

pub const CARD: AddressNames = AddressNames {
    country: "card_country",
    line1: "card_line1",
    line2: "card_line2",
    city: "card_city",
    region: "card_region",
    postal_code: "card_postal_code",
    section: "billing ",
};

/// Autocomplete tokens must be `'static`; the two sections are spelled out.
fn token(section: &str, name: &'static str) -> &'static str {
    match (section, name) {
        ("", n) => n,
        (_, "country") => "billing country",
        (_, "address-line1") => "billing address-line1",
        (_, "address-line2") => "billing address-line2",
        (_, "address-level2") => "billing address-level2",
        (_, "address-level1") => "billing address-level1",
        (_, "postal-code") => "billing postal-code",
        (_, n) => n,
    }
}

#[component]
pub fn AddressFields(
    names: &'static AddressNames,
    value: RwSignal<AddressInput>,
    errors: LiveErrors,
) -> impl IntoView {
    let text = move |get: fn(&AddressInput) -> &String| {
        Signal::derive(move || value.with(|a| get(a).clone()))
    };
    let set = move |field: &'static str, put: fn(&mut AddressInput, String)| {
        Callback::new(move |v: String| {
            value.update(|a| put(a, v));
            errors.edited(field);
        })
    };
    let country = Signal::derive(move || value.with(|a| a.country.clone()));
    let mut countries = vec![(String::new(), "Choose a country".to_string())];
    countries.extend(
        COUNTRIES
            .iter()
            .map(|(c, n)| (c.to_string(), n.to_string())),
    );
    let region_field = move || {
        let c = country.get();
        subdivisions(&c).map(|list| {
            let mut options = vec![(String::new(), format!("Choose a {}", subdivision_label(&c).to_lowercase()))];
            options.extend(list.iter().map(|(code, name)| (code.to_string(), name.to_string())));
            view! {
                <SelectField name=names.region label=subdivision_label(&c).to_string() options=options
                    autocomplete=token(names.section, "address-level1")
                    value=text(|a| &a.region) error=errors.error(names.region)
                    on_change=set(names.region, |a, v| a.region = v) on_blur=errors.touch(names.region) />
            }
        })
    };
    view! {
        <SelectField name=names.country label="Country" options=countries
            autocomplete=token(names.section, "country")
            value=country error=errors.error(names.country)
            on_change=Callback::new(move |v: String| {
                // Another country: its states and postal code rules differ, so those start over.
                value.update(|a| {
                    a.country = v;
                    a.region.clear();
                });
                errors.edited(names.country);
            })
            on_blur=errors.touch(names.country) />
        <Field name=names.line1 label="Street address" autocomplete=token(names.section, "address-line1")
            value=text(|a| &a.line1) error=errors.error(names.line1)
            on_input=set(names.line1, |a, v| a.line1 = v) on_blur=errors.touch(names.line1) />
        <Field name=names.line2 label="Apartment, suite, etc. (optional)" autocomplete=token(names.section, "address-line2")
            value=text(|a| &a.line2) error=errors.error(names.line2)
            on_input=set(names.line2, |a, v| a.line2 = v) on_blur=errors.touch(names.line2) />
        <Field name=names.city label="City" autocomplete=token(names.section, "address-level2")
            value=text(|a| &a.city) error=errors.error(names.city)
            on_input=set(names.city, |a, v| a.city = v) on_blur=errors.touch(names.city) />
        {region_field}
        <Field name=names.postal_code label=Signal::derive(move || postal_code_label(&country.get()).to_string())
            autocomplete=token(names.section, "postal-code")
            value=text(|a| &a.postal_code) error=errors.error(names.postal_code)
            on_input=set(names.postal_code, |a, v| a.postal_code = v) on_blur=errors.touch(names.postal_code) />
    }
}
