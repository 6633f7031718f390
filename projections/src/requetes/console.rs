//! The game master's console, read side: finding an account by login or character name, an
//! account's timeline (its aggregates' events and the system's reactions to them), and the
//! structural difference between two states of an aggregate. The queries live here, with the
//! read side's others; the gateway's `mj.*` handlers only check params and map.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use magasin::lecteur::{EvenementStocke, PositionGlobale};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::ErreurProjection;

/// An account found by [`chercher`].
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CompteTrouve {
    /// The account.
    pub compte_id: Uuid,
    /// Its login.
    pub login: String,
    /// When it was created.
    pub cree_le: DateTime<Utc>,
    /// Its characters, by name.
    pub personnages: Vec<PersonnageTrouve>,
}

/// A character of a found account.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, schemars::JsonSchema)]
pub struct PersonnageTrouve {
    /// The character.
    pub joueur_id: Uuid,
    /// Its name.
    pub nom: String,
    /// Its class (absent while the read model has not seen it yet).
    pub classe: Option<String>,
    /// Its level (idem).
    pub niveau: Option<i32>,
}

/// A character and its account, as [`chercher`] reads them.
#[derive(FromRow)]
struct LignePersonnage {
    compte_id: Uuid,
    #[sqlx(flatten)]
    personnage: PersonnageTrouve,
}

/// `LIKE` pattern for "starts with", the text taken literally.
fn prefixe(texte: &str) -> String {
    let mut motif = String::with_capacity(texte.len() + 1);
    for c in texte.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            motif.push('\\');
        }
        motif.push(c);
    }
    motif.push('%');
    motif
}

/// Accounts whose login, or one of whose characters' names, starts with `texte`
/// (case-insensitively), ordered by account id after `apres`, at most `limite`. Both prefix
/// scans use the `text_pattern_ops` indexes of migration `20261207000004_console`.
pub async fn chercher(
    pool: &PgPool,
    texte: &str,
    apres: Option<Uuid>,
    limite: i64,
) -> Result<Vec<CompteTrouve>, ErreurProjection> {
    let comptes: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT compte_id, login, cree_le FROM comptes \
         WHERE compte_id IN (SELECT compte_id FROM comptes WHERE lower(login) LIKE $1 \
                             UNION SELECT compte_id FROM noms_joueurs WHERE cle LIKE $1) \
           AND ($2::uuid IS NULL OR compte_id > $2) \
         ORDER BY compte_id LIMIT $3",
    )
    .bind(prefixe(texte))
    .bind(apres)
    .bind(limite)
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = comptes.iter().map(|c| c.0).collect();
    let lignes: Vec<LignePersonnage> = sqlx::query_as(
        "SELECT n.compte_id, n.joueur_id, n.nom, j.classe, j.niveau \
         FROM noms_joueurs n LEFT JOIN lecture.joueurs j USING (joueur_id) \
         WHERE n.compte_id = ANY($1) ORDER BY n.nom",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut par_compte: HashMap<Uuid, Vec<PersonnageTrouve>> = HashMap::new();
    for l in lignes {
        par_compte
            .entry(l.compte_id)
            .or_default()
            .push(l.personnage);
    }
    Ok(comptes
        .into_iter()
        .map(|(compte_id, login, cree_le)| CompteTrouve {
            personnages: par_compte.remove(&compte_id).unwrap_or_default(),
            compte_id,
            login,
            cree_le,
        })
        .collect())
}

/// Whose timeline: a whole account, or one of its characters.
#[derive(Debug, Clone, Copy)]
pub enum Sujet {
    /// Every character of the account.
    Compte(Uuid),
    /// One character.
    Joueur(Uuid),
}

/// The aggregates a timeline follows: the characters' `Joueur` and `Inventaire` streams,
/// their quests (from the quest log), and the combats and trades the account's own commands
/// touched (for one character: those whose payload names it). `None` if the subject does
/// not exist.
pub async fn agregats(
    pool: &PgPool,
    sujet: Sujet,
) -> Result<Option<Vec<(String, String)>>, ErreurProjection> {
    let (compte, joueurs): (Uuid, Vec<Uuid>) = match sujet {
        Sujet::Compte(c) => {
            let existe: Option<(Uuid,)> =
                sqlx::query_as("SELECT compte_id FROM comptes WHERE compte_id = $1")
                    .bind(c)
                    .fetch_optional(pool)
                    .await?;
            if existe.is_none() {
                return Ok(None);
            }
            let joueurs: Vec<(Uuid,)> =
                sqlx::query_as("SELECT joueur_id FROM noms_joueurs WHERE compte_id = $1")
                    .bind(c)
                    .fetch_all(pool)
                    .await?;
            (c, joueurs.into_iter().map(|j| j.0).collect())
        }
        Sujet::Joueur(j) => {
            let compte: Option<(Uuid,)> =
                sqlx::query_as("SELECT compte_id FROM noms_joueurs WHERE joueur_id = $1")
                    .bind(j)
                    .fetch_optional(pool)
                    .await?;
            let Some((c,)) = compte else {
                return Ok(None);
            };
            (c, vec![j])
        }
    };
    let mut cles = Vec::new();
    if matches!(sujet, Sujet::Compte(_)) {
        // The account's moderation record: what game masters did to it.
        cles.push(("Moderation".to_owned(), compte.to_string()));
    }
    for j in &joueurs {
        cles.push(("Joueur".to_owned(), j.to_string()));
        cles.push(("Inventaire".to_owned(), j.to_string()));
    }
    let quetes: Vec<(String,)> = sqlx::query_as(
        "SELECT joueur_id::text || ':' || quete FROM lecture.journal_quetes \
         WHERE joueur_id = ANY($1)",
    )
    .bind(&joueurs)
    .fetch_all(pool)
    .await?;
    cles.extend(quetes.into_iter().map(|(id,)| ("Quete".to_owned(), id)));
    let nomme = match sujet {
        Sujet::Compte(_) => None,
        Sujet::Joueur(j) => Some(j.to_string()),
    };
    let partages: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT aggregate_type, aggregate_id FROM events \
         WHERE compte_id = $1 AND aggregate_type IN ('Combat', 'Echange') \
           AND ($2::text IS NULL OR strpos(payload::text, $2) > 0)",
    )
    .bind(compte)
    .bind(nomme)
    .fetch_all(pool)
    .await?;
    cles.extend(partages);
    Ok(Some(cles))
}

/// An event of a timeline.
#[derive(Debug, FromRow)]
pub struct EvenementChronologie {
    /// The event, upcast to its type's current version.
    #[sqlx(flatten)]
    pub evenement: EvenementStocke,
    /// The system's reaction to one of the followed aggregates' events (same correlation),
    /// rather than an event of those aggregates.
    pub reaction: bool,
}

/// Up to `limite` events of a timeline after `apres`, in global order: every event of
/// `cles`' aggregates, and every event sharing a correlation id with one of them (a process
/// manager's command carries on its cause's correlation, so the whole chain of reactions
/// shares it). Only below the visibility horizon, as tailing readers read: a page never skips
/// an event that commits later. Indexed: the aggregates' streams by the primary key, the
/// reactions by `events_correlation`.
pub async fn chronologie(
    pool: &PgPool,
    cles: &[(String, String)],
    apres: PositionGlobale,
    limite: i64,
) -> Result<Vec<EvenementChronologie>, ErreurProjection> {
    let (types, ids): (Vec<&str>, Vec<&str>) =
        cles.iter().map(|(t, i)| (t.as_str(), i.as_str())).unzip();
    let mut lignes: Vec<EvenementChronologie> = sqlx::query_as(
        "WITH cles AS (SELECT DISTINCT t, i FROM unnest($1::text[], $2::text[]) AS c(t, i)), \
         propres AS ( \
           SELECT e.* FROM cles JOIN events e ON e.aggregate_type = cles.t AND e.aggregate_id = cles.i), \
         correlations AS ( \
           SELECT DISTINCT correlation_id FROM propres WHERE correlation_id IS NOT NULL), \
         tous AS ( \
           SELECT p.*, false AS reaction FROM propres p \
           UNION ALL \
           SELECT e.*, true AS reaction FROM correlations c \
             JOIN events e ON e.correlation_id = c.correlation_id \
           WHERE NOT EXISTS (SELECT 1 FROM cles WHERE cles.t = e.aggregate_type AND cles.i = e.aggregate_id)) \
         SELECT transaction_id::text::bigint AS transaction, global_position, event_id, \
                aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
                id_commande, correlation_id, causation_id, compte_id, recorded_at, reaction \
         FROM tous \
         WHERE (transaction_id, global_position) > ($3::bigint::text::xid8, $4) \
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY transaction_id, global_position \
         LIMIT $5",
    )
    .bind(&types)
    .bind(&ids)
    .bind(apres.transaction)
    .bind(apres.position)
    .bind(limite)
    .fetch_all(pool)
    .await?;
    for l in &mut lignes {
        if let Err(erreur) = l.evenement.monter() {
            tracing::warn!(event_id = %l.evenement.event_id, %erreur, "événement illisible, laissé tel quel");
        }
    }
    Ok(lignes)
}

/// How a value changed at one place of a JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "genre", rename_all = "snake_case")]
pub enum Changement {
    /// Present only after.
    Ajoute {
        /// Where (JSON Pointer, RFC 6901).
        chemin: String,
        /// The new value.
        apres: Value,
    },
    /// Present only before.
    Retire {
        /// Where.
        chemin: String,
        /// The old value.
        avant: Value,
    },
    /// Present on both sides, different.
    Modifie {
        /// Where.
        chemin: String,
        /// The old value.
        avant: Value,
        /// The new value.
        apres: Value,
    },
}

/// What changed from `avant` to `apres`, down to the leaves: objects are compared key by key
/// and arrays index by index (a longer array has its extra items added or removed); any other
/// difference (a scalar, or a change of kind) is one `Modifie` at that place. Paths are JSON
/// Pointers; equal documents give nothing.
pub fn difference(avant: &Value, apres: &Value) -> Vec<Changement> {
    let mut changements = Vec::new();
    comparer(String::new(), avant, apres, &mut changements);
    changements
}

fn echapper(cle: &str) -> String {
    cle.replace('~', "~0").replace('/', "~1")
}

fn comparer(chemin: String, avant: &Value, apres: &Value, sortie: &mut Vec<Changement>) {
    match (avant, apres) {
        (Value::Object(a), Value::Object(b)) => comparer_objets(&chemin, a, b, sortie),
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let ici = format!("{chemin}/{i}");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => comparer(ici, x, y, sortie),
                    (Some(x), None) => sortie.push(Changement::Retire {
                        chemin: ici,
                        avant: x.clone(),
                    }),
                    (None, Some(y)) => sortie.push(Changement::Ajoute {
                        chemin: ici,
                        apres: y.clone(),
                    }),
                    (None, None) => {}
                }
            }
        }
        (a, b) if a == b => {}
        (a, b) => sortie.push(Changement::Modifie {
            chemin,
            avant: a.clone(),
            apres: b.clone(),
        }),
    }
}

fn comparer_objets(
    chemin: &str,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    sortie: &mut Vec<Changement>,
) {
    for (cle, x) in a {
        let ici = format!("{chemin}/{}", echapper(cle));
        match b.get(cle) {
            Some(y) => comparer(ici, x, y, sortie),
            None => sortie.push(Changement::Retire {
                chemin: ici,
                avant: x.clone(),
            }),
        }
    }
    for (cle, y) in b {
        if !a.contains_key(cle) {
            sortie.push(Changement::Ajoute {
                chemin: format!("{chemin}/{}", echapper(cle)),
                apres: y.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn deux_documents_egaux_n_ont_aucune_difference() {
        let v = json!({"or": 10, "items": {"epee": 1}, "liste": [1, 2]});
        assert!(difference(&v, &v).is_empty());
    }

    #[test]
    fn une_feuille_changee_est_nommee_par_son_chemin() {
        let d = difference(
            &json!({"or": 10, "items": {"epee": 1}}),
            &json!({"or": 25, "items": {"epee": 1}}),
        );
        assert_eq!(
            d,
            vec![Changement::Modifie {
                chemin: "/or".into(),
                avant: json!(10),
                apres: json!(25),
            }]
        );
    }

    #[test]
    fn les_cles_ajoutees_et_retirees_sont_distinguees() {
        let d = difference(
            &json!({"items": {"epee": 1, "potion": 2}}),
            &json!({"items": {"epee": 1, "bouclier": 1}}),
        );
        assert_eq!(
            d,
            vec![
                Changement::Retire {
                    chemin: "/items/potion".into(),
                    avant: json!(2),
                },
                Changement::Ajoute {
                    chemin: "/items/bouclier".into(),
                    apres: json!(1),
                },
            ]
        );
    }

    #[test]
    fn un_tableau_se_compare_indice_par_indice() {
        let d = difference(&json!([1, 2, 3]), &json!([1, 5]));
        assert_eq!(
            d,
            vec![
                Changement::Modifie {
                    chemin: "/1".into(),
                    avant: json!(2),
                    apres: json!(5),
                },
                Changement::Retire {
                    chemin: "/2".into(),
                    avant: json!(3),
                },
            ]
        );
    }

    #[test]
    fn un_changement_de_nature_est_une_modification_entiere() {
        let d = difference(&json!({"x": {"a": 1}}), &json!({"x": null}));
        assert_eq!(
            d,
            vec![Changement::Modifie {
                chemin: "/x".into(),
                avant: json!({"a": 1}),
                apres: Value::Null,
            }]
        );
    }

    #[test]
    fn les_cles_speciales_sont_echappees_comme_en_json_pointer() {
        let d = difference(&json!({"a/b~c": 1}), &json!({"a/b~c": 2}));
        assert_eq!(
            d,
            vec![Changement::Modifie {
                chemin: "/a~1b~0c".into(),
                avant: json!(1),
                apres: json!(2),
            }]
        );
    }

    #[test]
    fn un_prefixe_de_recherche_prend_les_jokers_a_la_lettre() {
        assert_eq!(prefixe("Al_b%"), "al\\_b\\%%");
        assert_eq!(prefixe("a\\b"), "a\\\\b%");
    }
}
