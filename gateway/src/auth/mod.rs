//! Authentication: passwords ([`mots_de_passe`]), access and refresh tokens ([`jetons`]) and
//! rate limits ([`limites`]).

pub mod jetons;
pub mod limites;
pub mod mots_de_passe;

pub use jetons::{Authentifie, JetonRefuse, Jetons};
