//! Service Chat: channels and their history on Redis, without an aggregate (doc/monde_chat.md). The
//! text rules are the domain's ([`domain::chat`]); this service owns who may write and read
//! which channel, the history, the rate limit and muting:
//!
//! - **channels**: `monde` (everyone), `zone` (the characters in the sender's or reader's
//!   current zone, per Service Monde), `groupe` (the participants of a combat, from the
//!   `Combat` aggregate), `prive` (two characters). Only members write or read one;
//! - **history**: one Redis stream per channel (`chat:monde`, `chat:zone:<zone>`,
//!   `chat:groupe:<combat>`, `chat:prive:<a>:<b>` with the pair sorted), capped at about
//!   [`HISTORIQUE_MAX`] messages, read newest first by cursor (the stream ids);
//! - **rate limit**: messages counted per account (all its characters together) and per window
//!   in Redis, so every gateway instance shares the count; **muting**: a key with a TTL per
//!   account, set by an admin naming one of its characters: switching characters does not
//!   lift it.
//!
//! Who receives a message live is for the gateway to push: [`Envoi::destinataires`] says who.

use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use domain::chat::{ErreurChat, nettoyer};
use domain::combat::Combat;
use domain::ids::{CombatId, CompteId, JoueurId};
use domain::valeurs::{CodeZone, NomJoueur};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::erreurs::ErreurApplication;
use crate::services::monde::Monde;

/// Messages kept per channel, about (`MAXLEN ~`: Redis trims by whole nodes, cheaply).
pub const HISTORIQUE_MAX: usize = 1_000;

/// Messages an account (all its characters) may send per [`FENETRE_DEBIT`], by default.
pub const MESSAGES_PAR_FENETRE: u32 = 8;

/// The rate limit's window, by default.
pub const FENETRE_DEBIT: Duration = Duration::from_secs(10);

/// A private or party channel unused this long is forgotten.
const DUREE_CANAL_PRIVE_S: i64 = 30 * 24 * 3600;

/// A cell's `dire` stream unused this long is forgotten: it only answers a retried command id,
/// remembered as long (`DUREE_IDEMPOTENCE_S`).
const DUREE_DIRE_S: i64 = 3600;

/// How long a command id is remembered, to answer a retried message with its first sending.
const DUREE_IDEMPOTENCE_S: u64 = 3600;

/// A channel, as a client names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Canal {
    // Braces, not unit variants: serde checks unknown fields only in struct variants.
    /// Everyone.
    Monde {},
    /// The character's current zone.
    Zone {},
    /// Those who see the character: its interest area (`domain::interet`), heard live only.
    Dire {},
    /// A combat's party.
    Groupe {
        /// The combat.
        combat_id: CombatId,
    },
    /// A whisper between two characters.
    Prive {
        /// The other character.
        destinataire: JoueurId,
    },
}

/// A channel resolved for a character: which stream, as shown in messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Salon {
    /// Everyone.
    Monde,
    /// A zone.
    Zone {
        /// Which.
        zone: CodeZone,
    },
    /// Said aloud in a cell of a zone: heard by those whose interest area holds the cell.
    Dire {
        /// The zone.
        zone: CodeZone,
        /// The speaker's cell.
        cellule: domain::interet::Cellule,
    },
    /// A combat's party.
    Groupe {
        /// The combat.
        combat_id: CombatId,
    },
    /// Two characters, the smaller id first.
    Prive {
        /// The pair.
        entre: [JoueurId; 2],
    },
}

impl Salon {
    fn cle(&self) -> String {
        match self {
            Self::Monde => "chat:monde".to_owned(),
            Self::Zone { zone } => format!("chat:zone:{}", zone.as_str()),
            Self::Dire { zone, cellule } => format!("chat:dire:{}:{cellule}", zone.as_str()),
            Self::Groupe { combat_id } => format!("chat:groupe:{combat_id}"),
            Self::Prive { entre: [a, b] } => format!("chat:prive:{a}:{b}"),
        }
    }
}

/// A message of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MessageChat {
    /// Its id in the channel's stream: the history's cursor.
    pub id: String,
    /// Its channel.
    pub canal: Salon,
    /// Its author.
    pub de: JoueurId,
    /// The author's name.
    pub nom: String,
    /// The cleaned text.
    pub texte: String,
    /// When the server took it.
    pub horodatage: DateTime<Utc>,
}

/// Who receives a message live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Destinataires {
    /// Every connected player.
    Tous,
    /// The players with a character present in the zone.
    Zone {
        /// Which.
        zone: CodeZone,
    },
    /// These accounts.
    Comptes {
        /// Which.
        comptes: Vec<CompteId>,
    },
    /// The players with a character that sees this cell of the zone (`domain::interet`).
    Aire {
        /// The zone.
        zone: CodeZone,
        /// The cell.
        cellule: domain::interet::Cellule,
    },
}

/// A message sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envoi {
    /// The message as stored.
    pub message: MessageChat,
    /// Who receives it live (no one when replayed: it was pushed with its first sending).
    pub destinataires: Destinataires,
    /// False when the command id had already sent it (nothing new to push).
    pub nouveau: bool,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PageChat {
    /// The messages.
    pub messages: Vec<MessageChat>,
    /// The cursor for the next (older) page, if the page was full.
    pub suivant: Option<String>,
}

/// The stored part of a message (its id is the stream's).
#[derive(Serialize, Deserialize)]
struct Corps {
    canal: Salon,
    de: JoueurId,
    nom: String,
    texte: String,
    t: i64,
}

/// What a command id remembers of its message: the channel as the client named it, the
/// stream it went to and its id there.
#[derive(Serialize, Deserialize)]
struct Trace {
    canal: Canal,
    cle: String,
    id: String,
}

/// Appends a message unless its command id already did; answers `[1, id]` for a new message,
/// `[0, trace]` (a [`Trace`]'s JSON) for one already sent. The trace is built here, where the
/// stream id is known: `ARGV[5]` is the channel's JSON, inserted as is.
const SCRIPT_ENVOYER: &str = r#"
if KEYS[2] ~= '' then
  local deja = redis.call('GET', KEYS[2])
  if deja then return {0, deja} end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
if ARGV[3] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if KEYS[2] ~= '' then
  local trace = '{"canal":' .. ARGV[5] .. ',"cle":' .. cjson.encode(KEYS[1])
    .. ',"id":' .. cjson.encode(id) .. '}'
  redis.call('SET', KEYS[2], trace, 'EX', ARGV[4])
end
return {1, id}
"#;

/// Service Chat. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Chat {
    monde: Monde,
    envoyer: redis::Script,
    messages_par_fenetre: u32,
    fenetre: Duration,
}

impl Chat {
    /// The service on Service Monde's storage (its Redis, its prefix, its database): Monde
    /// knows the zones and the characters' owners.
    pub fn new(monde: Monde) -> Self {
        Self {
            monde,
            envoyer: redis::Script::new(SCRIPT_ENVOYER),
            messages_par_fenetre: MESSAGES_PAR_FENETRE,
            fenetre: FENETRE_DEBIT,
        }
    }

    /// Replaces the rate limit: `messages` per `fenetre` per account.
    #[must_use]
    pub fn avec_debit(mut self, messages: u32, fenetre: Duration) -> Self {
        self.messages_par_fenetre = messages.max(1);
        self.fenetre = fenetre.max(Duration::from_millis(1));
        self
    }

    /// Sends a message from the caller's character. `id_commande`, if given, makes a retry
    /// answer with the first sending instead of sending twice, looked up before any other
    /// check (a retry spends no rate budget); the same id on another channel is refused
    /// ([`ErreurApplication::CommandeReutilisee`]).
    #[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
    pub async fn envoyer(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
        canal: Canal,
        texte: &str,
        id_commande: Option<Uuid>,
    ) -> Result<Envoi, ErreurApplication> {
        let nom = self.monde.verifier_proprietaire(compte, joueur_id).await?;
        let cle_idempotence = id_commande
            .map(|id| self.monde.cle(&format!("chat:commande:{joueur_id}:{id}")))
            .unwrap_or_default();
        // A retry answers with its first sending before anything else: it spends no rate
        // budget, and neither a mute nor a zone change since turns it into a refusal.
        if let Some(id) = id_commande
            && let Some(envoi) = self.deja_envoye(&cle_idempotence, id, &canal).await?
        {
            return Ok(envoi);
        }
        let texte = nettoyer(texte).map_err(ErreurApplication::chat)?;
        let (salon, destinataires) = self.resoudre(joueur_id, &canal).await?;
        // The account, not the character: a muted or talkative player cannot switch characters.
        self.verifier_muet(compte).await?;
        self.compter(compte).await?;
        let t = Utc::now().timestamp_millis();
        let corps = Corps {
            canal: salon.clone(),
            de: joueur_id,
            nom,
            texte,
            t,
        };
        let json = serde_json::to_string(&corps).map_err(ErreurApplication::stockage)?;
        let expiration = match salon {
            Salon::Groupe { .. } | Salon::Prive { .. } => DUREE_CANAL_PRIVE_S,
            // Kept only for the command id's replay: `dire` has no history.
            Salon::Dire { .. } => DUREE_DIRE_S,
            Salon::Monde | Salon::Zone { .. } => 0,
        };
        let cle = self.monde.cle(&salon.cle());
        let (nouveau, trace): (i64, String) = self
            .envoyer
            .key(&cle)
            .key(&cle_idempotence)
            .arg(HISTORIQUE_MAX)
            .arg(json)
            .arg(expiration)
            .arg(DUREE_IDEMPOTENCE_S)
            .arg(serde_json::to_string(&canal).map_err(ErreurApplication::stockage)?)
            .invoke_async(&mut self.monde.redis())
            .await?;
        if nouveau == 1 {
            return Ok(Envoi {
                message: message(trace, corps),
                destinataires,
                nouveau: true,
            });
        }
        // The same command id won a race with this call between the lookup and the script.
        let id = id_commande.unwrap_or_default();
        self.rejouer(&trace, id, &canal).await
    }

    /// The first answer to this command id, if it was already sent.
    async fn deja_envoye(
        &self,
        cle_idempotence: &str,
        id_commande: Uuid,
        canal: &Canal,
    ) -> Result<Option<Envoi>, ErreurApplication> {
        let trace: Option<String> = redis::cmd("GET")
            .arg(cle_idempotence)
            .query_async(&mut self.monde.redis())
            .await?;
        match trace {
            None => Ok(None),
            Some(trace) => self.rejouer(&trace, id_commande, canal).await.map(Some),
        }
    }

    /// The message a command id sent, from its trace; refuses the id reused on another
    /// channel.
    async fn rejouer(
        &self,
        trace: &str,
        id_commande: Uuid,
        canal: &Canal,
    ) -> Result<Envoi, ErreurApplication> {
        let trace: Trace = serde_json::from_str(trace).map_err(ErreurApplication::stockage)?;
        if &trace.canal != canal {
            return Err(ErreurApplication::CommandeReutilisee(id_commande));
        }
        let message = self
            .lire(&trace.cle, &trace.id)
            .await?
            .ok_or_else(|| ErreurApplication::introuvable("message", &trace.id))?;
        Ok(Envoi {
            message,
            // Already pushed with its first sending.
            destinataires: Destinataires::Comptes {
                comptes: Vec::new(),
            },
            nouveau: false,
        })
    }

    /// A page of a channel's history, newest first, older than `avant` if given; only for a
    /// member of the channel. `limite` from 1 to 100.
    pub async fn historique(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
        canal: Canal,
        avant: Option<&str>,
        limite: usize,
    ) -> Result<PageChat, ErreurApplication> {
        // A malformed cursor is a bad parameter: refused before anything else is looked at,
        // whatever the channel (doc/protocole.md §3.8, the order of checks).
        let avant = match avant.map(|a| (a, id_de_flux(a))) {
            None => None,
            Some((_, None)) => return Err(ErreurApplication::chat(ErreurChat::CurseurInvalide)),
            Some((a, Some(id))) => Some((a, id)),
        };
        self.monde.verifier_proprietaire(compte, joueur_id).await?;
        let (salon, _) = self.resoudre(joueur_id, &canal).await?;
        if let Salon::Dire { .. } = salon {
            // What is said nearby is heard live, by whoever is near then: an area moves with
            // its listener, and a history of one cell would be neither what it heard nor
            // what is said around it now.
            return Ok(PageChat {
                messages: Vec::new(),
                suivant: None,
            });
        }
        let fin = match avant {
            None => "+".to_owned(),
            // Nothing is older than the very first id (and Redis refuses the interval `(0-0`).
            Some((_, (0, 0))) => {
                return Ok(PageChat {
                    messages: Vec::new(),
                    suivant: None,
                });
            }
            Some((a, _)) => format!("({a}"),
        };
        let limite = limite.clamp(1, 100);
        let entrees: Vec<(String, Vec<String>)> = redis::cmd("XREVRANGE")
            .arg(self.monde.cle(&salon.cle()))
            .arg(fin)
            .arg("-")
            .arg("COUNT")
            .arg(limite)
            .query_async(&mut self.monde.redis())
            .await?;
        let messages: Vec<MessageChat> = entrees
            .into_iter()
            .filter_map(|(id, champs)| lire_entree(id, &champs))
            .collect();
        let suivant = (messages.len() == limite)
            .then(|| messages.last().map(|m| m.id.clone()))
            .flatten();
        Ok(PageChat { messages, suivant })
    }

    /// Mutes a character's account for `duree`: none of its characters may talk (admin: the
    /// gateway checks the role).
    pub async fn museler(
        &self,
        joueur_id: JoueurId,
        duree: Duration,
    ) -> Result<(), ErreurApplication> {
        let Some((compte, _)) = self.monde.proprietaire(joueur_id).await? else {
            return Err(ErreurApplication::introuvable("personnage", &joueur_id));
        };
        let ms = u64::try_from(duree.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: () = redis::cmd("SET")
            .arg(self.cle_muet(compte))
            .arg(1)
            .arg("PX")
            .arg(ms)
            .query_async(&mut self.monde.redis())
            .await?;
        Ok(())
    }

    /// The character of this name, if any (names are unique case-insensitively).
    pub async fn joueur_nomme(
        &self,
        nom: &NomJoueur,
    ) -> Result<Option<JoueurId>, ErreurApplication> {
        let ligne: Option<(Uuid,)> =
            sqlx::query_as("SELECT joueur_id FROM noms_joueurs WHERE cle = $1")
                .bind(nom.cle())
                .fetch_optional(self.monde.pool())
                .await?;
        Ok(ligne.map(|(id,)| JoueurId::from_uuid(id)))
    }

    fn cle_muet(&self, compte: CompteId) -> String {
        self.monde.cle(&format!("chat:muet:{compte}"))
    }

    async fn verifier_muet(&self, compte: CompteId) -> Result<(), ErreurApplication> {
        let reste_ms: i64 = redis::cmd("PTTL")
            .arg(self.cle_muet(compte))
            .query_async(&mut self.monde.redis())
            .await?;
        if reste_ms > 0 {
            let reste_s = (reste_ms as u64).div_ceil(1000);
            return Err(ErreurApplication::chat(ErreurChat::Muet { reste_s }));
        }
        Ok(())
    }

    /// Counts a message in the account's current window; refuses past the limit.
    async fn compter(&self, compte: CompteId) -> Result<(), ErreurApplication> {
        let fenetre_ms = self.fenetre.as_millis().max(1) as i64;
        let maintenant = Utc::now().timestamp_millis();
        let numero = maintenant / fenetre_ms;
        let cle = self.monde.cle(&format!("chat:debit:{compte}:{numero}"));
        let (n,): (u32,) = redis::pipe()
            .incr(&cle, 1)
            .pexpire(&cle, fenetre_ms * 2)
            .ignore()
            .query_async(&mut self.monde.redis())
            .await?;
        if n > self.messages_par_fenetre {
            let reste_ms = (numero + 1) * fenetre_ms - maintenant;
            let reessayer_dans_s = (reste_ms.max(1) as u64).div_ceil(1000);
            return Err(ErreurApplication::chat(ErreurChat::TropDeMessages {
                reessayer_dans_s,
            }));
        }
        Ok(())
    }

    /// The channel's stream for this character, and who receives its messages live; refuses
    /// a character that is not a member.
    async fn resoudre(
        &self,
        joueur_id: JoueurId,
        canal: &Canal,
    ) -> Result<(Salon, Destinataires), ErreurApplication> {
        Ok(match canal {
            Canal::Monde {} => (Salon::Monde, Destinataires::Tous),
            Canal::Zone {} => {
                let ici = self
                    .monde
                    .emplacement(joueur_id)
                    .await?
                    .ok_or_else(|| ErreurApplication::introuvable("position", &joueur_id))?;
                (
                    Salon::Zone {
                        zone: ici.zone.clone(),
                    },
                    Destinataires::Zone { zone: ici.zone },
                )
            }
            Canal::Dire {} => {
                let ici = self
                    .monde
                    .emplacement(joueur_id)
                    .await?
                    .ok_or_else(|| ErreurApplication::introuvable("position", &joueur_id))?;
                let cellule = self.monde.cellule(ici.position);
                (
                    Salon::Dire {
                        zone: ici.zone.clone(),
                        cellule,
                    },
                    Destinataires::Aire {
                        zone: ici.zone,
                        cellule,
                    },
                )
            }
            Canal::Groupe { combat_id } => {
                let participants: Vec<JoueurId> = self
                    .monde
                    .depot()
                    .charger::<Combat>(&combat_id.to_string())
                    .await?
                    .and_then(|c| c.etat().cloned())
                    .ok_or_else(|| ErreurApplication::introuvable("combat", combat_id))?
                    .participants
                    .iter()
                    .map(|p| p.combattant.joueur_id)
                    .collect();
                if !participants.contains(&joueur_id) {
                    return Err(ErreurApplication::chat(ErreurChat::PasMembre));
                }
                (
                    Salon::Groupe {
                        combat_id: *combat_id,
                    },
                    Destinataires::Comptes {
                        comptes: self.comptes(&participants).await?,
                    },
                )
            }
            Canal::Prive { destinataire } => {
                if *destinataire == joueur_id {
                    return Err(ErreurApplication::chat(ErreurChat::AvecSoiMeme));
                }
                let mut entre = [joueur_id, *destinataire];
                entre.sort();
                let comptes = self.comptes(&entre).await?;
                if comptes.len() < 2 && self.monde.proprietaire(*destinataire).await?.is_none() {
                    return Err(ErreurApplication::introuvable("personnage", destinataire));
                }
                (Salon::Prive { entre }, Destinataires::Comptes { comptes })
            }
        })
    }

    /// The accounts of these characters (each once).
    async fn comptes(&self, joueurs: &[JoueurId]) -> Result<Vec<CompteId>, ErreurApplication> {
        let mut comptes = Vec::with_capacity(joueurs.len());
        for &j in joueurs {
            if let Some((c, _)) = self.monde.proprietaire(j).await?
                && !comptes.contains(&c)
            {
                comptes.push(c);
            }
        }
        Ok(comptes)
    }

    async fn lire(&self, cle: &str, id: &str) -> Result<Option<MessageChat>, ErreurApplication> {
        let entrees: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg(cle)
            .arg(id)
            .arg(id)
            .query_async(&mut self.monde.redis())
            .await?;
        Ok(entrees
            .into_iter()
            .next()
            .and_then(|(id, champs)| lire_entree(id, &champs)))
    }
}

fn message(id: String, corps: Corps) -> MessageChat {
    MessageChat {
        id,
        canal: corps.canal,
        de: corps.de,
        nom: corps.nom,
        texte: corps.texte,
        horodatage: Utc
            .timestamp_millis_opt(corps.t)
            .single()
            .unwrap_or_default(),
    }
}

/// A stream entry `m <json>` as a message (`None` if unreadable: skipped, not fatal).
fn lire_entree(id: String, champs: &[String]) -> Option<MessageChat> {
    let json = champs
        .chunks(2)
        .find(|c| c.first().map(String::as_str) == Some("m"))
        .and_then(|c| c.get(1))?;
    let corps: Corps = serde_json::from_str(json).ok()?;
    Some(message(id, corps))
}

/// A stream id: `<ms>-<seq>`.
/// A stream id, `<ms>-<seq>`: its two numbers. Digits only (`u64::from_str` would also take
/// `+1`): the cursor is one this service gave out.
fn id_de_flux(texte: &str) -> Option<(u64, u64)> {
    let nombre = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u64>().ok()
    };
    let (ms, seq) = texte.split_once('-')?;
    Some((nombre(ms)?, nombre(seq)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_canal_se_lit_par_son_type() {
        let c: Canal = serde_json::from_str(r#"{"type":"monde"}"#).expect("monde");
        assert_eq!(c, Canal::Monde {});
        let id = JoueurId::generer();
        let c: Canal =
            serde_json::from_value(serde_json::json!({"type": "prive", "destinataire": id}))
                .expect("privé");
        assert_eq!(c, Canal::Prive { destinataire: id });
        assert!(serde_json::from_str::<Canal>(r#"{"type":"groupe"}"#).is_err());
        assert!(serde_json::from_str::<Canal>(r#"{"type":"zone","x":1}"#).is_err());
        assert!(serde_json::from_str::<Canal>(r#"{"type":"guilde"}"#).is_err());
    }

    #[test]
    fn un_curseur_est_un_id_de_flux() {
        assert_eq!(id_de_flux("1764453875123-0"), Some((1_764_453_875_123, 0)));
        assert_eq!(id_de_flux("0-0"), Some((0, 0)));
        let trop = "99999999999999999999-0";
        for mauvais in [
            "", "12", "a-1", "1-", "-1", "1-2-3", "+1-1", "1-+1", " 1-1", trop,
        ] {
            assert!(id_de_flux(mauvais).is_none(), "{mauvais}");
        }
    }
}
