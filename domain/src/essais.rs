//! Fixtures shared by the aggregates' given/when/then tests: the shipped catalog, stable ids,
//! parsed values. Test-only.

use std::fmt::Debug;
use std::str::FromStr;

use uuid::Uuid;

use crate::ids::{CombatId, CompteId, EchangeId, FabricationId, JoueurId};
use crate::valeurs::{Horodatage, Niveau, NomJoueur, Or, Quantite};
use crate::{Catalogue, Services};

/// The shipped catalog.
pub(crate) fn catalogue() -> Services {
    Catalogue::officiel().expect("le catalogue officiel est valide")
}

/// The n-th test character.
pub(crate) fn joueur(n: u64) -> JoueurId {
    JoueurId::from_uuid(Uuid::from_u64_pair(1, n))
}

/// The n-th test account.
pub(crate) fn compte(n: u64) -> CompteId {
    CompteId::from_uuid(Uuid::from_u64_pair(2, n))
}

/// The n-th test combat.
pub(crate) fn combat(n: u64) -> CombatId {
    CombatId::from_uuid(Uuid::from_u64_pair(3, n))
}

/// The n-th test trade.
pub(crate) fn echange(n: u64) -> EchangeId {
    EchangeId::from_uuid(Uuid::from_u64_pair(4, n))
}

/// The n-th test crafting operation.
pub(crate) fn fabrication(n: u64) -> FabricationId {
    FabricationId::from_uuid(Uuid::from_u64_pair(5, n))
}

/// A parsed character name.
pub(crate) fn nom(s: &str) -> NomJoueur {
    NomJoueur::parse(s).expect("nom de test valide")
}

/// Any parsed catalog code (`code::<CodeItem>("pain")`).
pub(crate) fn code<T: FromStr>(s: &str) -> T
where
    T::Err: Debug,
{
    s.parse().expect("code de test valide")
}

/// A parsed quantity.
pub(crate) fn q(n: u32) -> Quantite {
    Quantite::parse(u64::from(n)).expect("quantité de test valide")
}

/// A parsed level.
pub(crate) fn niveau(n: u32) -> Niveau {
    Niveau::parse(n).expect("niveau de test valide")
}

/// Gold.
pub(crate) fn or(n: u64) -> Or {
    Or::new(n)
}

/// A fixed "now".
pub(crate) fn t0() -> Horodatage {
    "2026-01-01T12:00:00Z".parse().expect("date de test valide")
}
