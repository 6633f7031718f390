//! `/api/openapi.json`: the OpenAPI document of the REST part (accounts, sessions) and of
//! the health routes. The game itself is JSON-RPC, described by doc/protocole.md.

use crate::rest::{comptes, erreur, sessions};
use crate::sante;

/// The OpenAPI description of the REST part.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "MMO : passerelle",
        description = "Comptes et sessions. Le jeu lui-même passe par JSON-RPC 2.0 (POST /rpc, /ws) : voir doc/protocole.md."
    ),
    paths(
        comptes::inscrire,
        sessions::connecter,
        sessions::rafraichir,
        sessions::deconnecter,
        sante::vivant,
        sante::pret
    ),
    components(schemas(
        comptes::Identifiants,
        comptes::CompteCree,
        sessions::Session,
        sessions::Rafraichissement,
        erreur::CorpsErreur,
        erreur::DetailErreur,
        sante::Preparation
    ))
)]
pub struct DocApi;

/// The OpenAPI document as served. utoipa 5 writes a link's fields in snake case
/// (`operation_id`, `request_body`) where OpenAPI says `operationId`, `requestBody`: without
/// this, tools ignore the links (schemathesis's stateful phase among them).
pub fn document_openapi() -> serde_json::Value {
    use utoipa::OpenApi as _;

    let mut document = serde_json::to_value(DocApi::openapi()).unwrap_or_default();
    let operations = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|chemins| chemins.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|verbes| verbes.values_mut());
    for operation in operations {
        let liens = operation
            .get_mut("responses")
            .and_then(serde_json::Value::as_object_mut)
            .into_iter()
            .flat_map(|reponses| reponses.values_mut())
            .filter_map(|r| {
                r.get_mut("links")
                    .and_then(serde_json::Value::as_object_mut)
            })
            .flat_map(|liens| liens.values_mut())
            .filter_map(serde_json::Value::as_object_mut);
        for lien in liens {
            for (serpent, chameau) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = lien.remove(serpent) {
                    lien.insert(chameau.to_owned(), v);
                }
            }
        }
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn les_liens_de_l_openapi_s_ecrivent_comme_openapi_le_veut() {
        let document = document_openapi();
        let lien = &document["paths"]["/api/sessions"]["post"]["responses"]["200"]["links"]["rafraichissement"];
        assert_eq!(lien["operationId"], "rafraichir", "{lien}");
        assert!(lien["requestBody"].is_object(), "{lien}");
        assert!(!document.to_string().contains("operation_id"));
    }
}
