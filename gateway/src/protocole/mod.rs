//! The wire format of the game's JSON-RPC 2.0, whatever the transport: the envelope of calls,
//! answers and notifications ([`enveloppe`]), events as the protocol shows them
//! ([`evenement`]), the cursor of the global order ([`curseur`]) and the errors with their
//! codes ([`erreur`]). doc/protocole.md describes it from the client's side.
//!
//! It knows nothing else of the gateway: the dispatcher, the pushes and the transports
//! build on it, never the other way round.

pub mod curseur;
pub mod enveloppe;
pub mod erreur;
pub mod evenement;
pub mod monde;

pub use curseur::{Curseur, curseur, lire_curseur};
pub use enveloppe::{Appel, en_json, lire_appel, notification, params, reponse, reponse_erreur};
pub use erreur::{ErreurRpc, codes};
pub use evenement::{
    EvenementPousse, Evenements, evenement_json, evenement_pousse, evenements_json,
};
