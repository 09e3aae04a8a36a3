//! The `version` and `updatedBy` fields every versioned admin form's object carries (canned
//! responses, routing rules, SLA policies, webhooks, calendars), written once.
//!
//! Each object flattens its own stamp type in, so the fields' descriptions still name that form's
//! input and noun; the stamp types themselves never appear in the schema.

/// Declares `$name`, a flattenable object with `version` and `updatedBy`, documented as the
/// version of `$input` and the last saver of the `$noun`.
macro_rules! version_stamp {
    ($name:ident, $input:literal, $noun:literal) => {
        #[doc = concat!("The save stamp of a ", $noun, ", flattened into its object.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            #[doc = concat!(
                        "Goes up with every save; send it back as `", $input, ".version` so a save over someone\n",
                        "else's newer one is refused instead of undoing it."
                    )]
            pub version: i64,
            #[doc = concat!("Who last saved the ", $noun, ", as history names them; absent before its first edit.")]
            pub updated_by: Option<String>,
        }

        impl $name {
            /// The stamp of a stored row.
            pub fn of(version: i64, updated_by: &Option<String>) -> Self {
                Self { version, updated_by: updated_by.clone() }
            }
        }
    };
}

pub(crate) use version_stamp;
