//! Authentication: passwords ([`mots_de_passe`]), access and refresh tokens ([`jetons`]), the
//! admin role as the accounts table holds it now ([`roles`]) and rate limits ([`limites`]).

pub mod jetons;
pub mod limites;
pub mod mots_de_passe;
pub mod roles;

pub use jetons::{Authentifie, JetonRefuse, Jetons};
