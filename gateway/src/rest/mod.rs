//! The REST part (Service Compte, plain CRUD): registering ([`comptes`]), logging in,
//! refreshing and logging out ([`sessions`]), and the one error type of REST answers
//! ([`erreur`]). Documented by `/api/openapi.json` ([`crate::openapi`]).

pub mod comptes;
pub mod erreur;
pub mod sessions;
