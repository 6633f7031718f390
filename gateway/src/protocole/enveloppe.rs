//! The JSON-RPC 2.0 envelope: reading a call, writing an answer, an error answer or a
//! notification, and the params and results of a method as JSON.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::erreur::ErreurRpc;

/// One call, as read from a message.
#[derive(Debug)]
pub struct Appel {
    /// Its id; none for a notification (which gets no answer).
    pub id: Option<Value>,
    /// The method's name, as sent.
    pub methode: String,
    /// Its params: an object, an array or none.
    pub params: Option<Value>,
}

/// Reads one call; on failure, the id to answer with (null when unreadable) and the error.
pub fn lire_appel(valeur: Value) -> Result<Appel, (Value, ErreurRpc)> {
    let Value::Object(mut objet) = valeur else {
        return Err((
            Value::Null,
            ErreurRpc::requete_invalide("un appel est un objet"),
        ));
    };
    let id = objet.remove("id");
    let id_reponse = match &id {
        None | Some(Value::Null | Value::String(_) | Value::Number(_)) => {
            id.clone().unwrap_or(Value::Null)
        }
        Some(_) => {
            return Err((
                Value::Null,
                ErreurRpc::requete_invalide("`id` est une chaîne, un nombre ou null"),
            ));
        }
    };
    if objet.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((
            id_reponse,
            ErreurRpc::requete_invalide("`jsonrpc` doit valoir \"2.0\""),
        ));
    }
    let Some(Value::String(methode)) = objet.remove("method") else {
        return Err((id_reponse, ErreurRpc::requete_invalide("`method` manque")));
    };
    let params = objet.remove("params");
    // JSON-RPC 2.0 §4.2: params, when present, MUST be a structured value; `null` is not one
    // (a client that has none omits the member).
    if let Some(Value::Null) = params {
        return Err((
            id_reponse,
            ErreurRpc::requete_invalide(
                "`params` ne peut pas valoir null : omettez-le, ou passez un objet",
            ),
        ));
    }
    if !matches!(params, None | Some(Value::Object(_) | Value::Array(_))) {
        return Err((
            id_reponse,
            ErreurRpc::requete_invalide("`params` est un objet ou un tableau"),
        ));
    }
    Ok(Appel {
        id,
        methode,
        params,
    })
}

/// Params by name, as the method's type: absent params are an empty object; positional
/// params are refused (`null` never gets here: [`lire_appel`] refuses it).
pub fn params<P: DeserializeOwned>(params: Option<Value>) -> Result<P, ErreurRpc> {
    let valeur = match params {
        None => Value::Object(Map::new()),
        Some(Value::Array(_)) => {
            return Err(ErreurRpc::parametres(
                &"les paramètres se passent par nom (un objet)",
            ));
        }
        Some(v) => v,
    };
    serde_json::from_value(valeur).map_err(|e| ErreurRpc::parametres(&e))
}

/// A result as JSON.
pub fn en_json(valeur: &impl serde::Serialize) -> Result<Value, ErreurRpc> {
    serde_json::to_value(valeur).map_err(|e| ErreurRpc::interne(&e))
}

/// A successful answer.
pub fn reponse(id: Value, resultat: Value) -> Value {
    let mut m = Map::with_capacity(3);
    m.insert("jsonrpc".into(), Value::from("2.0"));
    m.insert("id".into(), id);
    m.insert("result".into(), resultat);
    Value::Object(m)
}

/// An error answer.
pub fn reponse_erreur(id: Value, e: &ErreurRpc) -> Value {
    let mut m = Map::with_capacity(3);
    m.insert("jsonrpc".into(), Value::from("2.0"));
    m.insert("id".into(), id);
    m.insert(
        "error".into(),
        json!({ "code": e.code, "message": e.message, "data": e.data }),
    );
    Value::Object(m)
}

/// A notification the server pushes.
pub fn notification(methode: &str, params: Value) -> Value {
    let mut m = Map::with_capacity(3);
    m.insert("jsonrpc".into(), Value::from("2.0"));
    m.insert("method".into(), Value::from(methode));
    m.insert("params".into(), params);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocole::erreur::codes;

    #[test]
    fn un_appel_mal_forme_est_refuse_avec_son_id_quand_il_est_lisible() {
        let (id, e) =
            lire_appel(json!({"jsonrpc": "1.0", "id": 7, "method": "x"})).expect_err("refusé");
        assert_eq!(id, json!(7));
        assert_eq!(e.code, codes::REQUETE_INVALIDE);
        let (id, _) = lire_appel(json!({"jsonrpc": "2.0", "id": {"a": 1}, "method": "x"}))
            .expect_err("refusé");
        assert_eq!(id, Value::Null);
        assert!(lire_appel(json!([1])).is_err());
        assert!(lire_appel(json!({"jsonrpc": "2.0", "method": "x", "params": 3})).is_err());
    }

    #[test]
    fn des_params_null_sont_une_requete_invalide_qui_dit_quoi_faire() {
        let appel = json!({"jsonrpc": "2.0", "id": 2, "method": "joueur.lister", "params": null});
        let (id, e) = lire_appel(appel).expect_err("refusé");
        assert_eq!(id, json!(2));
        assert_eq!(e.code, codes::REQUETE_INVALIDE);
        assert!(e.message.contains("null"), "{}", e.message);
        assert!(lire_appel(json!({"jsonrpc": "2.0", "id": 2, "method": "joueur.lister"})).is_ok());
    }

    #[test]
    fn des_parametres_positionnels_ou_incomplets_sont_refuses() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct P {
            nom: String,
        }
        assert!(params::<P>(Some(json!(["a"]))).is_err());
        let e = params::<P>(None).expect_err("nom manque");
        assert_eq!(e.code, codes::PARAMETRES);
        assert!(e.message.contains("nom"), "{}", e.message);
    }
}
