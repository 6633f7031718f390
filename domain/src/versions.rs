//! Event versions and upcasters: how an event stored years ago is read by today's code.
//!
//! The store keeps every event as it was written: its type, its version and its payload
//! (`{"<type>": {<fields>}}`). When a payload's shape changes, the event type's version goes up
//! and an [`Upcaster`] says how a payload of the previous version becomes one of the new:
//! a pure function on the JSON, with no catalog, clock or I/O, so that reading an event
//! gives the same result whenever and wherever it is read. Upcasters chain (1.0 → 2.0 → ...),
//! and [`UPCASTERS`] is the one registry: an event type's current version is the last version
//! its steps reach ([`version_courante`]), which is what `DomainEvent::event_version` writes.
//!
//! Every reader of the store goes through [`monter`] (the JSON at the current version) or
//! [`decoder`] (that, then the typed event): `magasin::lecteur` upcasts every event it hands
//! out, and the write side decodes an aggregate's stream with [`decoder_texte`].
//! doc/magasin.md §6 says how to change an event.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use cqrs_es::{Aggregate, DomainEvent};

use crate::combat::{Combat, EvenementCombat};
use crate::echange::{Echange, EvenementEchange};
use crate::inventaire::{EvenementInventaire, Inventaire};
use crate::joueur::{EvenementJoueur, Joueur};
use crate::moderation::{EvenementModeration, Moderation};
use crate::quete::{EvenementQuete, Quete};

/// The version of every event type before its first change.
pub const VERSION_INITIALE: &str = "1.0";

/// One step of an event type's history: how the fields of a payload at version `de` become
/// those of a payload at version `vers`.
#[derive(Debug)]
pub struct Upcaster {
    /// The aggregate type (`Quete`...).
    pub agregat: &'static str,
    /// The event type (the variant's name).
    pub evenement: &'static str,
    /// The version it reads.
    pub de: &'static str,
    /// The version it writes.
    pub vers: &'static str,
    /// Rewrites the variant's fields (the object inside `{"<type>": ...}`) in place; an error
    /// says why this payload does not have the shape of version `de`.
    pub convertir: fn(&mut Map<String, Value>) -> Result<(), String>,
}

/// Every step of every event type's history, oldest first for each type. Never edit or remove
/// a step: stored events of its version exist for ever.
pub static UPCASTERS: &[Upcaster] = &[
    Upcaster {
        agregat: "Quete",
        evenement: "QueteAcceptee",
        de: "1.0",
        vers: "2.0",
        convertir: quete_acceptee_porte_requis,
    },
    Upcaster {
        agregat: "Echange",
        evenement: "EchangePropose",
        de: "1.0",
        vers: "2.0",
        convertir: echange_propose_porte_echeance,
    },
];

/// The deadline a trade proposed before trades expired reads with: the epoch.
pub const ECHEANCE_AVANT_2_0: &str = "1970-01-01T00:00:00Z";

/// `EchangePropose` 1.0 → 2.0: the trade carries its deadline (`echeance`). A 1.0 trade had
/// none and was kept open for ever; it reads as due since the epoch: it may still be
/// cancelled, no longer changed or accepted, and the scheduler (or anyone's `Expirer`)
/// expires it, releasing what it held. The payload alone says nothing of when it was
/// proposed, and an upcaster reads nothing else.
fn echange_propose_porte_echeance(champs: &mut Map<String, Value>) -> Result<(), String> {
    if !champs.contains_key("proposant") {
        return Err("pas de `proposant`".to_owned());
    }
    champs.insert("echeance".to_owned(), Value::from(ECHEANCE_AVANT_2_0));
    Ok(())
}

/// `QueteAcceptee` 1.0 → 2.0: the progress the quest needs (`requis`) is carried beside the
/// objective, as `QueteProgressee` carries it, instead of every reader deriving it from the
/// objective's shape. Rules of 1.0's objectives, frozen here: `nombre` for `vaincre`,
/// `fabriquer` and `gagner_combat`, the level for `atteindre_niveau`.
fn quete_acceptee_porte_requis(champs: &mut Map<String, Value>) -> Result<(), String> {
    let objectif = champs
        .get("objectif")
        .and_then(Value::as_object)
        .ok_or("pas d'objet `objectif`")?;
    let genre = objectif
        .get("type")
        .and_then(Value::as_str)
        .ok_or("`objectif` sans `type`")?;
    let champ = match genre {
        "vaincre" | "fabriquer" | "gagner_combat" => "nombre",
        "atteindre_niveau" => "niveau",
        autre => return Err(format!("objectif inconnu « {autre} »")),
    };
    let requis = objectif
        .get(champ)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("objectif « {genre} » sans `{champ}` entier"))?;
    champs.insert("requis".to_owned(), Value::from(requis));
    Ok(())
}

/// Why the current code cannot read a stored event.
#[derive(Debug, thiserror::Error)]
pub enum Illisible {
    /// No aggregate of this type.
    #[error("type d'agrégat inconnu « {agregat} »")]
    AgregatInconnu {
        /// The type found.
        agregat: String,
    },
    /// A version no step leads from: written by newer code, or a step is missing.
    #[error(
        "{agregat}/{evenement} : version « {version} » inconnue (version courante : {courante})"
    )]
    VersionInconnue {
        /// The aggregate type.
        agregat: String,
        /// The event type.
        evenement: String,
        /// The version found.
        version: String,
        /// The version this code writes.
        courante: &'static str,
    },
    /// The payload is not `{"<type>": {...}}` with the event's own type.
    #[error("{agregat}/{evenement} : charge hors de son enveloppe `{{\"{evenement}\": {{…}}}}`")]
    Enveloppe {
        /// The aggregate type.
        agregat: String,
        /// The event type.
        evenement: String,
    },
    /// An upcaster refused the payload.
    #[error("{agregat}/{evenement} {de} → {vers} : {raison}")]
    Conversion {
        /// The aggregate type.
        agregat: &'static str,
        /// The event type.
        evenement: &'static str,
        /// The step's source version.
        de: &'static str,
        /// The step's target version.
        vers: &'static str,
        /// What the payload lacked.
        raison: String,
    },
    /// The payload at the current version does not fit the event enum.
    #[error("{agregat}/{evenement} version {version} : {source}")]
    Forme {
        /// The aggregate type.
        agregat: String,
        /// The event type.
        evenement: String,
        /// The version it was read at.
        version: String,
        /// serde's message.
        source: serde_json::Error,
    },
    /// The payload is an event of another type than the row says.
    #[error("{agregat} : la ligne dit « {stocke} », la charge est un « {lu} »")]
    TypeIncoherent {
        /// The aggregate type.
        agregat: String,
        /// The row's event type.
        stocke: String,
        /// The payload's.
        lu: String,
    },
}

/// The version today's code writes for an event type: the last step's target, or
/// [`VERSION_INITIALE`].
pub fn version_courante(agregat: &str, evenement: &str) -> &'static str {
    UPCASTERS
        .iter()
        .rev()
        .find(|u| u.agregat == agregat && u.evenement == evenement)
        .map_or(VERSION_INITIALE, |u| u.vers)
}

/// Every version an event type has had, oldest first.
pub fn versions(agregat: &str, evenement: &str) -> Vec<&'static str> {
    let mut versions = vec![VERSION_INITIALE];
    versions.extend(
        UPCASTERS
            .iter()
            .filter(|u| u.agregat == agregat && u.evenement == evenement)
            .map(|u| u.vers),
    );
    versions
}

/// A stored payload at its event type's current version, with that version: unchanged if it
/// already is, else rewritten by each step from its version on.
pub fn monter(
    agregat: &str,
    evenement: &str,
    version: &str,
    mut payload: Value,
) -> Result<(Value, &'static str), Illisible> {
    let courante = version_courante(agregat, evenement);
    let mut version = version;
    while version != courante {
        let Some(etape) = UPCASTERS
            .iter()
            .find(|u| u.agregat == agregat && u.evenement == evenement && u.de == version)
        else {
            return Err(Illisible::VersionInconnue {
                agregat: agregat.to_owned(),
                evenement: evenement.to_owned(),
                version: version.to_owned(),
                courante,
            });
        };
        let champs = payload
            .as_object_mut()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.get_mut(evenement))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| Illisible::Enveloppe {
                agregat: agregat.to_owned(),
                evenement: evenement.to_owned(),
            })?;
        (etape.convertir)(champs).map_err(|raison| Illisible::Conversion {
            agregat: etape.agregat,
            evenement: etape.evenement,
            de: etape.de,
            vers: etape.vers,
            raison,
        })?;
        version = etape.vers;
    }
    Ok((payload, courante))
}

/// A stored event as the aggregate's event enum: upcast, deserialized, and checked to be of
/// the type its row says.
pub fn decoder<E>(
    agregat: &str,
    evenement: &str,
    version: &str,
    payload: Value,
) -> Result<E, Illisible>
where
    E: DeserializeOwned + DomainEvent,
{
    let (payload, version) = monter(agregat, evenement, version, payload)?;
    let typed = serde_json::from_value(payload).map_err(|source| Illisible::Forme {
        agregat: agregat.to_owned(),
        evenement: evenement.to_owned(),
        version: version.to_owned(),
        source,
    })?;
    meme_type(agregat, evenement, typed)
}

/// [`decoder`] from the payload's text, as the write side reads a stream: an event at the
/// current version (nearly all of them) is deserialized straight from the text.
pub fn decoder_texte<E>(
    agregat: &str,
    evenement: &str,
    version: &str,
    texte: &str,
) -> Result<E, Illisible>
where
    E: DeserializeOwned + DomainEvent,
{
    let forme = |source| Illisible::Forme {
        agregat: agregat.to_owned(),
        evenement: evenement.to_owned(),
        version: version.to_owned(),
        source,
    };
    if version == version_courante(agregat, evenement) {
        let typed = serde_json::from_str(texte).map_err(forme)?;
        return meme_type(agregat, evenement, typed);
    }
    decoder(
        agregat,
        evenement,
        version,
        serde_json::from_str(texte).map_err(forme)?,
    )
}

fn meme_type<E: DomainEvent>(agregat: &str, evenement: &str, typed: E) -> Result<E, Illisible> {
    let lu = typed.event_type();
    if lu != evenement {
        return Err(Illisible::TypeIncoherent {
            agregat: agregat.to_owned(),
            stocke: evenement.to_owned(),
            lu,
        });
    }
    Ok(typed)
}

/// Whether today's code reads a stored event: into its aggregate's event enum, whatever the
/// aggregate type (what `mmo evenements verifier` asks of every row).
pub fn verifier(
    agregat: &str,
    evenement: &str,
    version: &str,
    payload: Value,
) -> Result<(), Illisible> {
    fn lire<A: Aggregate>(evenement: &str, version: &str, payload: Value) -> Result<(), Illisible> {
        decoder::<A::Event>(A::TYPE, evenement, version, payload).map(drop)
    }
    match agregat {
        Joueur::TYPE => lire::<Joueur>(evenement, version, payload),
        Combat::TYPE => lire::<Combat>(evenement, version, payload),
        Quete::TYPE => lire::<Quete>(evenement, version, payload),
        Inventaire::TYPE => lire::<Inventaire>(evenement, version, payload),
        Echange::TYPE => lire::<Echange>(evenement, version, payload),
        Moderation::TYPE => lire::<Moderation>(evenement, version, payload),
        autre => Err(Illisible::AgregatInconnu {
            agregat: autre.to_owned(),
        }),
    }
}

/// Every (aggregate type, event type, version) today's code reads: each variant of each
/// aggregate's event enum, at each version it has had.
pub fn connus() -> Vec<(&'static str, &'static str, &'static str)> {
    use strum::VariantNames;
    let agregats: [(&str, &[&str]); 6] = [
        (Joueur::TYPE, EvenementJoueur::VARIANTS),
        (Combat::TYPE, EvenementCombat::VARIANTS),
        (Quete::TYPE, EvenementQuete::VARIANTS),
        (Inventaire::TYPE, EvenementInventaire::VARIANTS),
        (Echange::TYPE, EvenementEchange::VARIANTS),
        (Moderation::TYPE, EvenementModeration::VARIANTS),
    ];
    let mut connus = Vec::new();
    for (agregat, evenements) in agregats {
        for evenement in evenements {
            for version in versions(agregat, evenement) {
                connus.push((agregat, *evenement, version));
            }
        }
    }
    connus
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn acceptee_v1(objectif: &Value) -> Value {
        json!({"QueteAcceptee": {
            "joueur_id": "00000000-0000-0001-0000-000000000001",
            "quete": "chasse_aux_loups",
            "objectif": objectif,
        }})
    }

    #[test]
    fn une_quete_acceptee_en_1_0_porte_le_requis_de_son_objectif_en_2_0() {
        let cas = [
            (
                json!({"type": "vaincre", "monstre": "loup", "nombre": 5}),
                5,
            ),
            (json!({"type": "fabriquer", "item": "pain", "nombre": 2}), 2),
            (
                json!({"type": "gagner_combat", "classe": "Tank", "nombre": 3}),
                3,
            ),
            (json!({"type": "atteindre_niveau", "niveau": 4}), 4),
        ];
        for (objectif, requis) in cas {
            let (payload, version) =
                monter("Quete", "QueteAcceptee", "1.0", acceptee_v1(&objectif))
                    .expect("1.0 se lit");
            assert_eq!(version, "2.0");
            assert_eq!(
                payload["QueteAcceptee"]["requis"],
                json!(requis),
                "{objectif}"
            );
            let e: EvenementQuete =
                decoder("Quete", "QueteAcceptee", "1.0", acceptee_v1(&objectif)).expect("typé");
            assert!(matches!(e, EvenementQuete::QueteAcceptee { requis: r, .. } if r == requis));
        }
    }

    #[test]
    fn un_evenement_a_la_version_courante_n_est_pas_touche() {
        let payload = json!({"XpGagnee": {"source": {"quete": "q"}, "xp": 5, "xp_totale": 5}});
        let (lu, version) = monter("Joueur", "XpGagnee", "1.0", payload.clone()).expect("courant");
        assert_eq!((lu, version), (payload, "1.0"));
    }

    #[test]
    fn une_version_venue_d_un_code_plus_recent_est_refusee_en_la_nommant() {
        let erreur = monter("Quete", "QueteAcceptee", "3.0", acceptee_v1(&json!({})))
            .expect_err("3.0 inconnue");
        assert!(matches!(erreur, Illisible::VersionInconnue { .. }));
        assert!(erreur.to_string().contains("QueteAcceptee"), "{erreur}");
        assert!(erreur.to_string().contains("« 3.0 »"), "{erreur}");
    }

    #[test]
    fn un_objectif_illisible_fait_echouer_la_conversion_sans_panique() {
        let erreur = monter(
            "Quete",
            "QueteAcceptee",
            "1.0",
            acceptee_v1(&json!({"type": "vaincre", "monstre": "loup"})),
        )
        .expect_err("pas de nombre");
        assert!(matches!(erreur, Illisible::Conversion { .. }), "{erreur}");
        let erreur = monter(
            "Quete",
            "QueteAcceptee",
            "1.0",
            json!({"QueteAbandonnee": {}}),
        )
        .expect_err("autre enveloppe");
        assert!(matches!(erreur, Illisible::Enveloppe { .. }), "{erreur}");
    }

    #[test]
    fn une_charge_d_un_autre_type_que_sa_ligne_est_refusee() {
        let payload =
            json!({"EntreEnCombat": {"combat_id": "00000000-0000-0001-0000-000000000002"}});
        let erreur =
            verifier("Joueur", "SortiDuCombat", "1.0", payload).expect_err("type incohérent");
        assert!(
            matches!(erreur, Illisible::TypeIncoherent { .. }),
            "{erreur}"
        );
        let erreur = verifier("Dragon", "Rugi", "1.0", json!({})).expect_err("inconnu");
        assert!(
            matches!(erreur, Illisible::AgregatInconnu { .. }),
            "{erreur}"
        );
    }

    #[test]
    fn les_etapes_de_chaque_type_se_suivent_depuis_la_version_initiale() {
        for u in UPCASTERS {
            let precedente = UPCASTERS
                .iter()
                .take_while(|v| !std::ptr::eq(*v, u))
                .filter(|v| v.agregat == u.agregat && v.evenement == u.evenement)
                .last()
                .map_or(VERSION_INITIALE, |v| v.vers);
            assert_eq!(u.de, precedente, "{u:?} ne suit pas l'étape d'avant");
            assert!(
                connus().contains(&(u.agregat, u.evenement, u.vers)),
                "{u:?} : aucun type d'événement de ce nom"
            );
        }
        assert_eq!(version_courante("Quete", "QueteAcceptee"), "2.0");
        assert_eq!(
            versions("Quete", "QueteAcceptee"),
            [VERSION_INITIALE, "2.0"]
        );
        assert_eq!(
            version_courante("Quete", "QueteProgressee"),
            VERSION_INITIALE
        );
    }

    #[test]
    fn un_echange_propose_en_1_0_est_echu_depuis_l_origine_en_2_0() {
        let v1 = json!({"EchangePropose": {
            "echange_id": "00000000-0000-0004-0000-000000000001",
            "proposant": "00000000-0000-0001-0000-000000000001",
            "destinataire": "00000000-0000-0001-0000-000000000002",
            "offre": {"or": 5, "items": {}},
        }});
        let e: EvenementEchange =
            decoder("Echange", "EchangePropose", "1.0", v1).expect("1.0 se lit");
        let EvenementEchange::EchangePropose { echeance, .. } = e else {
            panic!("{e:?}");
        };
        assert_eq!(echeance, chrono::DateTime::UNIX_EPOCH);
        assert_eq!(version_courante("Echange", "EchangePropose"), "2.0");
        let erreur = monter(
            "Echange",
            "EchangePropose",
            "1.0",
            json!({"EchangePropose": {"offre": {}}}),
        )
        .expect_err("sans proposant");
        assert!(matches!(erreur, Illisible::Conversion { .. }), "{erreur}");
    }
}
