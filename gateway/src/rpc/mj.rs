//! The game master's console, read side (admin only): `mj.chercher` (accounts by login or
//! character name), `mj.chronologie` (an account's or a character's timeline, with the
//! system's reactions), `mj.etat_a` and `mj.difference` (an aggregate's state at a past
//! event, and what changed between two). The queries are `projections::requetes::console`'s.

use domain::combat::Combat;
use domain::echange::Echange;
use domain::ids::{CompteId, JoueurId};
use domain::inventaire::Inventaire;
use domain::joueur::Joueur;
use domain::moderation::Moderation;
use domain::quete::Quete;
use projections::requetes::console::{self, Changement, CompteTrouve, Sujet};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, curseur, en_json, lire_curseur};

/// `mj.chercher`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chercher {
    /// The start of a login or of a character name, case-insensitive, 2 to 64 characters.
    #[schemars(length(min = 2, max = 64))]
    texte: String,
    /// The last account of the previous page (its `suite`).
    apres: Option<Uuid>,
    /// 1 to 50 accounts (default 20).
    #[schemars(range(min = 1, max = 50))]
    limite: Option<u32>,
}

/// `mj.chercher`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Trouves {
    /// The accounts found, by id.
    pub comptes: Vec<CompteTrouve>,
    /// Give it as `apres` for the next page; absent: no more.
    pub suite: Option<Uuid>,
}

/// Accounts whose login or one of whose characters' names starts with the text.
pub async fn chercher(passerelle: &Passerelle, p: Chercher) -> Result<Trouves, ErreurRpc> {
    let longueur = p.texte.chars().count();
    if !(2..=64).contains(&longueur) {
        return Err(ErreurRpc::parametres(&"`texte` a de 2 à 64 caractères"));
    }
    let limite = p.limite.unwrap_or(20);
    if !(1..=50).contains(&limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 50"));
    }
    let mut comptes =
        console::chercher(&passerelle.pool, &p.texte, p.apres, i64::from(limite) + 1).await?;
    let encore = comptes.len() > limite as usize;
    comptes.truncate(limite as usize);
    let suite = encore
        .then(|| comptes.last().map(|c| c.compte_id))
        .flatten();
    Ok(Trouves { comptes, suite })
}

/// `mj.chronologie`: exactly one of `compte_id` and `joueur_id`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// Exactly one of the two, not null (a null one counts as absent).
#[schemars(extend("oneOf" = [
    { "required": ["compte_id"], "properties": { "compte_id": { "not": { "type": "null" } }, "joueur_id": { "type": "null" } } },
    { "required": ["joueur_id"], "properties": { "joueur_id": { "not": { "type": "null" } }, "compte_id": { "type": "null" } } },
]))]
pub struct Chronologie {
    /// A whole account's timeline.
    compte_id: Option<CompteId>,
    /// One character's.
    joueur_id: Option<JoueurId>,
    /// The cursor of the last event seen (absent: from the beginning).
    #[schemars(regex(pattern = r"^[0-9]{1,18}\.[0-9]{1,18}$"))]
    curseur: Option<String>,
    /// 1 to 200 events (default 50).
    #[schemars(range(min = 1, max = 200))]
    limite: Option<u32>,
}

/// An event of a timeline, at its type's current version.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EvenementMj {
    /// Its place in the global order.
    pub curseur: String,
    /// Its own id (what a reaction's `causation_id` names).
    pub event_id: Uuid,
    /// `Joueur`, `Inventaire`, `Quete`, `Combat`, `Echange`, `Moderation`.
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// Its number in the aggregate's stream, from 1 (what `mj.etat_a` takes).
    pub sequence: i64,
    /// The event's type.
    pub event_type: String,
    /// The payload's version (the current one).
    pub event_version: String,
    /// The event.
    pub payload: Value,
    /// When it was committed.
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    /// The command that wrote it.
    pub id_commande: Option<Uuid>,
    /// The request or chain of reactions it belongs to.
    pub correlation_id: Option<Uuid>,
    /// Its direct cause: a request's command, or the event a process manager reacted to.
    pub causation_id: Option<Uuid>,
    /// The account that asked (absent: the system).
    pub compte_id: Option<Uuid>,
    /// A reaction of the system (same correlation) on an aggregate the timeline does not
    /// follow, such as another character's loot.
    pub reaction: bool,
}

/// `mj.chronologie`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PageChronologie {
    /// In global order.
    pub evenements: Vec<EvenementMj>,
    /// Where to go on from (the last event's cursor, or the one given).
    pub curseur: String,
    /// Nothing more for now.
    pub fin: bool,
}

/// A page of an account's or a character's timeline.
pub async fn chronologie(
    passerelle: &Passerelle,
    p: Chronologie,
) -> Result<PageChronologie, ErreurRpc> {
    let sujet = match (p.compte_id, p.joueur_id) {
        (Some(c), None) => Sujet::Compte(c.uuid()),
        (None, Some(j)) => Sujet::Joueur(j.uuid()),
        _ => {
            return Err(ErreurRpc::parametres(
                &"donner soit `compte_id`, soit `joueur_id`",
            ));
        }
    };
    let limite = p.limite.unwrap_or(50);
    if !(1..=200).contains(&limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 200"));
    }
    let apres = match &p.curseur {
        None => magasin::lecteur::PositionGlobale::DEBUT,
        Some(t) => lire_curseur(t).ok_or_else(|| {
            ErreurRpc::parametres(&"`curseur` s'écrit \"<transaction>.<position>\"")
        })?,
    };
    let Some(cles) = console::agregats(&passerelle.pool, sujet).await? else {
        return Err(match sujet {
            Sujet::Compte(c) => ErreurRpc::introuvable("compte", &c),
            Sujet::Joueur(j) => ErreurRpc::introuvable("personnage", &j),
        });
    };
    let lignes = console::chronologie(&passerelle.pool, &cles, apres, i64::from(limite)).await?;
    let fin = lignes.len() < limite as usize;
    let dernier = lignes.last().map_or(apres, |l| l.evenement.position());
    let evenements = lignes
        .into_iter()
        .map(|l| {
            let e = l.evenement;
            EvenementMj {
                curseur: curseur(e.position()),
                event_id: e.event_id,
                aggregate_type: e.aggregate_type,
                aggregate_id: e.aggregate_id,
                sequence: e.sequence,
                event_type: e.event_type,
                event_version: e.event_version,
                payload: e.payload,
                recorded_at: e.recorded_at,
                id_commande: e.id_commande,
                correlation_id: e.correlation_id,
                causation_id: e.causation_id,
                compte_id: e.compte_id,
                reaction: l.reaction,
            }
        })
        .collect();
    Ok(PageChronologie {
        evenements,
        curseur: curseur(dernier),
        fin,
    })
}

/// The aggregate types of the store.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum TypeAgregat {
    /// A character.
    Joueur,
    /// A character's inventory (same id).
    Inventaire,
    /// A quest of a character (`<joueur_id>:<quete>`).
    Quete,
    /// A combat.
    Combat,
    /// A trade.
    Echange,
    /// An account's moderation record (its `compte_id`).
    Moderation,
}

/// `mj.etat_a`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EtatA {
    /// The aggregate's type.
    aggregate_type: TypeAgregat,
    /// Its id.
    #[schemars(length(min = 1, max = 200))]
    aggregate_id: String,
    /// After its event number `sequence` (from 1; 0: before any).
    #[schemars(range(min = 0))]
    sequence: i64,
}

/// An aggregate's state at one of its events.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EtatAgregat {
    /// The event it is taken after.
    pub sequence: i64,
    /// How many events its stream holds today.
    pub longueur: i64,
    /// The state, as the aggregate serializes it.
    pub etat: Value,
}

/// The state, checked: the aggregate exists and has at least `sequence` events.
async fn etat(
    passerelle: &Passerelle,
    genre: TypeAgregat,
    id: &str,
    sequence: i64,
) -> Result<EtatAgregat, ErreurRpc> {
    if sequence < 0 {
        return Err(ErreurRpc::parametres(&"`sequence` est positif ou nul"));
    }
    let depot = &passerelle.depot;
    let (etat, longueur) = match genre {
        TypeAgregat::Joueur => json(depot.etat_a::<Joueur>(id, sequence).await?)?,
        TypeAgregat::Inventaire => json(depot.etat_a::<Inventaire>(id, sequence).await?)?,
        TypeAgregat::Quete => json(depot.etat_a::<Quete>(id, sequence).await?)?,
        TypeAgregat::Combat => json(depot.etat_a::<Combat>(id, sequence).await?)?,
        TypeAgregat::Echange => json(depot.etat_a::<Echange>(id, sequence).await?)?,
        TypeAgregat::Moderation => json(depot.etat_a::<Moderation>(id, sequence).await?)?,
    };
    if longueur == 0 {
        return Err(ErreurRpc::introuvable(
            "agrégat",
            &format!("{genre:?} {id}"),
        ));
    }
    if sequence > longueur {
        return Err(ErreurRpc::introuvable(
            "événement",
            &format!("{genre:?} {id} n° {sequence} (le flux en compte {longueur})"),
        ));
    }
    Ok(EtatAgregat {
        sequence,
        longueur,
        etat,
    })
}

fn json<A: Serialize>((etat, longueur): (A, i64)) -> Result<(Value, i64), ErreurRpc> {
    Ok((en_json(&etat)?, longueur))
}

/// The state of an aggregate after one of its events.
pub async fn etat_a(passerelle: &Passerelle, p: EtatA) -> Result<EtatAgregat, ErreurRpc> {
    etat(passerelle, p.aggregate_type, &p.aggregate_id, p.sequence).await
}

/// `mj.difference`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// The aggregate's type.
    aggregate_type: TypeAgregat,
    /// Its id.
    #[schemars(length(min = 1, max = 200))]
    aggregate_id: String,
    /// The earlier event (0: before any).
    #[schemars(range(min = 0))]
    de: i64,
    /// The later one, `de` or after (else `PARAMETRES_INVALIDES`).
    #[schemars(range(min = 0))]
    a: i64,
}

/// `mj.difference`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Differences {
    /// The earlier event.
    pub de: i64,
    /// The later one.
    pub a: i64,
    /// What changed, path by path (JSON Pointers into the state).
    pub changements: Vec<Changement>,
}

/// What changed in an aggregate's state between two of its events.
pub async fn difference(passerelle: &Passerelle, p: Difference) -> Result<Differences, ErreurRpc> {
    if p.de < 0 || p.a < 0 {
        return Err(ErreurRpc::parametres(&"`de` et `a` sont positifs ou nuls"));
    }
    let avant = etat(passerelle, p.aggregate_type, &p.aggregate_id, p.de).await?;
    // Checked once the aggregate is known to exist: an unknown one is INTROUVABLE whatever
    // the order asked.
    if p.a < p.de {
        return Err(ErreurRpc::parametres(&"`a` ne vient pas avant `de`"));
    }
    let apres = etat(passerelle, p.aggregate_type, &p.aggregate_id, p.a).await?;
    Ok(Differences {
        de: p.de,
        a: p.a,
        changements: console::difference(&avant.etat, &apres.etat),
    })
}
