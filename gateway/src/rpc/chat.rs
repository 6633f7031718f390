//! Service Chat: `chat.envoyer|historique`, and `chat.museler` (admin). A message is pushed
//! (`chat.message`) to its channel's members, on every gateway instance
//! ([`crate::diffusion`]).

use std::time::Duration;

use commands::services::chat::{Canal, PageChat, Salon};
use domain::ids::JoueurId;
use domain::valeurs::{NomJoueur, Raison};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::appelant::Appelant;
use crate::diffusion::{self, Diffusion};
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, en_json};

/// The longest mute, in seconds (30 days).
const MUTE_MAX_S: u32 = 30 * 24 * 3600;

/// `chat.envoyer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Envoyer {
    joueur_id: JoueurId,
    canal: Canal,
    texte: String,
    id_commande: Option<Uuid>,
}

/// `chat.envoyer`'s answer: the message as recorded.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MessageEnvoye {
    /// Its id, unique within its channel.
    pub id: String,
    /// The text as cleaned and filtered.
    pub texte: String,
    /// When the server took it.
    pub horodatage: chrono::DateTime<chrono::Utc>,
}

/// Sends a message; answers with its id and its text as cleaned and filtered.
pub async fn envoyer(
    passerelle: &Passerelle,
    a: Appelant,
    p: Envoyer,
) -> Result<MessageEnvoye, ErreurRpc> {
    let envoi = passerelle
        .chat
        .envoyer(a.compte_id, p.joueur_id, p.canal, &p.texte, p.id_commande)
        .await?;
    if envoi.nouveau {
        let genre = match &envoi.message.canal {
            Salon::Monde => "monde",
            Salon::Zone { .. } => "zone",
            Salon::Dire { .. } => "dire",
            Salon::Groupe { .. } => "groupe",
            Salon::Prive { .. } => "prive",
        };
        let diffusion = Diffusion {
            destinataires: envoi.destinataires,
            methode: "chat.message".into(),
            params: en_json(&envoi.message)?,
            transitions: None,
        };
        diffusion::publier(
            &passerelle.bus,
            &format!("diffusion.chat.{genre}"),
            &diffusion,
        )
        .await;
    }
    Ok(MessageEnvoye {
        id: envoi.message.id,
        texte: envoi.message.texte,
        horodatage: envoi.message.horodatage,
    })
}

/// `chat.historique`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Historique {
    joueur_id: JoueurId,
    canal: Canal,
    /// The cursor: messages older than this id.
    #[schemars(regex(pattern = r"^[0-9]{1,19}-[0-9]{1,19}$"))]
    avant: Option<String>,
    /// 1 to 100 (default 50).
    #[schemars(range(min = 1, max = 100))]
    limite: Option<u32>,
}

/// A page of a channel's history, newest first, and the cursor of the next one.
pub async fn historique(
    passerelle: &Passerelle,
    a: Appelant,
    p: Historique,
) -> Result<PageChat, ErreurRpc> {
    let limite = p.limite.unwrap_or(50);
    if !(1..=100).contains(&limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 100"));
    }
    let page = passerelle
        .chat
        .historique(
            a.compte_id,
            p.joueur_id,
            p.canal,
            p.avant.as_deref(),
            limite as usize,
        )
        .await?;
    Ok(page)
}

/// `chat.museler`: one of `joueur_id` or `nom`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
// Exactly one of the two, not null (a null one counts as absent).
#[schemars(extend("oneOf" = [
    { "required": ["joueur_id"], "properties": { "joueur_id": { "not": { "type": "null" } }, "nom": { "type": "null" } } },
    { "required": ["nom"], "properties": { "nom": { "not": { "type": "null" } }, "joueur_id": { "type": "null" } } },
]))]
pub struct Museler {
    joueur_id: Option<JoueurId>,
    nom: Option<NomJoueur>,
    /// 1 s to 30 days.
    #[schemars(range(min = 1, max = MUTE_MAX_S))]
    duree_s: u32,
    /// Why (recorded in the account's moderation stream, the game master as its author).
    raison: Raison,
}

/// `chat.museler`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Muselage {
    /// The character whose account is muted.
    pub joueur_id: JoueurId,
    /// For how long, in seconds.
    pub duree_s: u32,
}

/// Mutes a character (admin), recorded with its reason.
pub async fn museler(
    passerelle: &Passerelle,
    a: Appelant,
    p: Museler,
) -> Result<Muselage, ErreurRpc> {
    if !(1..=MUTE_MAX_S).contains(&p.duree_s) {
        return Err(ErreurRpc::parametres(&format!(
            "`duree_s` va de 1 à {MUTE_MAX_S}"
        )));
    }
    let joueur_id = match (p.joueur_id, p.nom) {
        (Some(id), None) => id,
        (None, Some(nom)) => passerelle
            .chat
            .joueur_nomme(&nom)
            .await?
            .ok_or_else(|| ErreurRpc::introuvable("personnage", &nom))?,
        _ => {
            return Err(ErreurRpc::parametres(
                &"`joueur_id` ou `nom`, l'un des deux",
            ));
        }
    };
    passerelle
        .chat
        .museler(joueur_id, Duration::from_secs(u64::from(p.duree_s)))
        .await?;
    if let Some((compte, _)) = passerelle.monde.proprietaire(joueur_id).await? {
        let commande = domain::moderation::CommandeModeration::Museler {
            joueur_id,
            raison: p.raison,
            duree_s: p.duree_s,
        };
        passerelle
            .moderation
            .consigner(&passerelle.depot, compte, commande, &a.meta(None))
            .await?;
    }
    Ok(Muselage {
        joueur_id,
        duree_s: p.duree_s,
    })
}
