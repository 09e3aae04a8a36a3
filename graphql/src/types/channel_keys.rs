//! The registry of channel keys as the API shows them: the GraphQL mirrors of the domain's
//! `Source` and `Channel` (see crates/domain/src/enums.rs). The one file of the GraphQL layer that
//! names transports; a new channel adds its value here.

use super::*;

remote_enum!(
    /// How a ticket reached the desk.
    Source => "d::Source" { Portal, Email, Phone, Chat, Api, Discord, Whatsapp });

remote_enum!(
    /// The transport an entry travelled on.
    Channel => "d::Channel" { Web, Portal, Email, Whatsapp, Discord, Api, Phone });
