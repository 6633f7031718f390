//! The pure domain of the MMO: value objects, the game catalog and the event-sourced aggregates
//! **Joueur**, **Combat**, **Quete**, **Inventaire**, **Echange** (the escrowed player trade)
//! and **Moderation** (what game masters did to an account).
//!
//! Nothing here does I/O. Aggregates implement `cqrs_es::Aggregate`: `handle` checks a command
//! against the current state and the [`Catalogue`] (their only service) and writes events;
//! `apply` folds an event into the state and never fails, never rolls a die and never reads the
//! catalog, so replaying a stream always gives the same state. Data that lives in another
//! aggregate (a character's level when it accepts a quest, its class when it joins a combat) is
//! passed in the command by the command side, which reads it from the store.
//!
//! Two services have rules but no aggregate: [`monde`] (moves and portals) and [`chat`]
//! (a message's text); their state lives in Redis and PostgreSQL on the command side.
//!
//! `doc/agregats.md` describes every command, event, invariant and refusal in French.

pub mod catalogue;
pub mod chat;
pub mod combat;
pub mod de;
pub mod echange;
#[cfg(test)]
mod essais;
pub mod ids;
pub mod interet;
pub mod inventaire;
pub mod joueur;
pub mod moderation;
pub mod monde;
pub mod quete;
pub mod simulation;
pub mod valeurs;
pub mod versions;

use std::sync::Arc;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;

pub use catalogue::Catalogue;

/// What every aggregate's `handle` may consult: the validated game catalog.
pub type Services = Arc<Catalogue>;

/// Implements `cqrs_es::DomainEvent` for an aggregate's event enum deriving
/// `strum::IntoStaticStr`: the event type is the variant's name, stable because renaming a
/// variant is a breaking change anyway; its version is the one [`versions::UPCASTERS`] leads
/// to (doc/magasin.md §6).
macro_rules! evenement_de_domaine {
    ($type:ty, $agregat:ty) => {
        impl ::cqrs_es::DomainEvent for $type {
            fn event_type(&self) -> String {
                let nom: &'static str = self.into();
                nom.to_owned()
            }

            fn event_version(&self) -> String {
                let nom: &'static str = self.into();
                $crate::versions::version_courante(<$agregat as ::cqrs_es::Aggregate>::TYPE, nom)
                    .to_owned()
            }
        }
    };
}
pub(crate) use evenement_de_domaine;

/// Writes the events a command decided, in order, through the sink (which applies each one).
async fn emettre<A: Aggregate>(agregat: &mut A, sink: &EventSink<A>, evenements: Vec<A::Event>) {
    for evenement in evenements {
        sink.write(evenement, agregat).await;
    }
}
