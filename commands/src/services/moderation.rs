//! Service Modération: what game masters do to accounts and characters, and the players'
//! reports. Every action is an event with the game master as its author (the metadata's
//! account): a ban, an unban, a kick, a mute, a move in the account's `Moderation` stream; a
//! grant or a removal of gold and items in the character's `Inventaire` stream, under the
//! ledger cause `mj`.
//!
//! A ban's effect is a **revocation**: a row of `revocations` written right after the event
//! (a retried command writes it again: the row follows the event's own end), read by the
//! gateway instances at start and every few seconds, and announced to them at once over NATS
//! (gateway `moderation`). Login and refresh read it here, on every call.
//!
//! Reports are rows of `signalements` (not events: a player's report is not a change of the
//! game): created by any player against another's character, bounded in length and rate,
//! listed oldest first and closed with a note by a game master.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::ids::{CompteId, JoueurId};
use domain::inventaire::{CommandeInventaire, EvenementInventaire, Inventaire};
use domain::moderation::{
    CommandeModeration, ErreurModeration, EvenementModeration, Moderation as Dossier,
};
use domain::valeurs::{NomJoueur, Raison};
use magasin::Metadonnees;
use schemars::JsonSchema;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::depot::Depot;
use crate::erreurs::{ErreurApplication, Refus};
use crate::services::monde::Monde;

/// How many reports an account may file in [`FENETRE_SIGNALEMENTS`].
pub const SIGNALEMENTS_PAR_FENETRE: i64 = 10;
/// The window of [`SIGNALEMENTS_PAR_FENETRE`].
pub const FENETRE_SIGNALEMENTS: Duration = Duration::from_hours(1);

/// A ban in force: the account's tokens are refused until `jusqu_a`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
pub struct Revocation {
    /// The banned account.
    pub compte_id: CompteId,
    /// When it ends on its own (`None`: until unbanned).
    pub jusqu_a: Option<DateTime<Utc>>,
    /// Why, as the game master wrote it.
    pub raison: String,
}

impl Revocation {
    /// Whether it is still in force at `le`.
    pub fn en_vigueur(&self, le: DateTime<Utc>) -> bool {
        self.jusqu_a.is_none_or(|fin| fin > le)
    }
}

/// A report, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema, sqlx::FromRow)]
pub struct Signalement {
    /// Its id.
    pub signalement_id: Uuid,
    /// Its place in the queue (the cursor of `mj.signalements`).
    pub numero: i64,
    /// The reporting account.
    pub auteur_compte_id: Uuid,
    /// The character it reported as.
    pub auteur_joueur_id: Uuid,
    /// That character's name.
    pub auteur_nom: String,
    /// The reported character's account.
    pub cible_compte_id: Uuid,
    /// The reported character.
    pub cible_joueur_id: Uuid,
    /// Its name.
    pub cible_nom: String,
    /// Why.
    pub raison: String,
    /// When it was filed.
    pub cree_le: DateTime<Utc>,
    /// When a game master closed it.
    pub traite_le: Option<DateTime<Utc>>,
    /// Who closed it.
    pub traite_par: Option<Uuid>,
    /// The game master's note.
    pub note: Option<String>,
}

/// One action in an account's moderation record.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EntreeDossier {
    /// Its place in the account's `Moderation` stream.
    pub sequence: i64,
    /// The event's name (`CompteBanni`, `CompteRetabli`, `CompteExpulse`, `PersonnageMusele`,
    /// `PersonnageDeplace`).
    #[serde(rename = "type")]
    pub genre: String,
    /// Its fields (the reason among them).
    pub donnees: serde_json::Value,
    /// The game master who acted.
    pub par: Option<Uuid>,
    /// When.
    pub horodatage: DateTime<Utc>,
}

/// An account's moderation record, as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DossierCompte {
    /// The account.
    pub compte_id: CompteId,
    /// Its login.
    pub login: String,
    /// The ban in force, if any.
    pub bannissement: Option<Revocation>,
    /// Every action, oldest first.
    pub entrees: Vec<EntreeDossier>,
}

/// What became of a report a player filed.
#[derive(Debug)]
pub enum IssueSignalement {
    /// Filed.
    Depose(Box<Signalement>),
    /// Over the account's limit: retry after this long.
    TropTot(Duration),
}

/// Which reports to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EtatSignalement {
    /// Not processed yet (the queue).
    #[default]
    Ouverts,
    /// Closed.
    Traites,
    /// Both.
    Tous,
}

/// Service Modération.
#[derive(Clone)]
pub struct Moderation {
    pool: PgPool,
    monde: Monde,
}

impl Moderation {
    /// Over the game database and Service Monde (the owners of characters).
    pub fn new(pool: PgPool, monde: Monde) -> Self {
        Self { pool, monde }
    }

    /// The account a moderation action aims at: the one given (which must exist), or the
    /// owner of the character given.
    pub async fn compte_vise(
        &self,
        compte_id: Option<CompteId>,
        joueur_id: Option<JoueurId>,
    ) -> Result<CompteId, ErreurApplication> {
        match (compte_id, joueur_id) {
            (Some(c), _) => {
                let existe: Option<(Uuid,)> =
                    sqlx::query_as("SELECT compte_id FROM comptes WHERE compte_id = $1")
                        .bind(c.uuid())
                        .fetch_optional(&self.pool)
                        .await?;
                existe
                    .map(|_| c)
                    .ok_or_else(|| ErreurApplication::introuvable("compte", &c))
            }
            (None, Some(j)) => self
                .monde
                .proprietaire(j)
                .await?
                .map(|(c, _)| c)
                .ok_or_else(|| ErreurApplication::introuvable("personnage", &j)),
            (None, None) => Err(ErreurApplication::introuvable("compte", &"(aucun)")),
        }
    }

    /// Bans an account for `duree` (`None`: until unbanned), replacing a ban in force: the
    /// event, then the revocation the gateways enforce.
    pub async fn bannir(
        &self,
        depot: &Depot,
        compte: CompteId,
        raison: Raison,
        duree: Option<Duration>,
        meta: &Metadonnees,
    ) -> Result<Revocation, ErreurApplication> {
        let jusqu_a = duree
            .map(|d| chrono::Duration::from_std(d).map(|d| meta.horodatage + d))
            .transpose()
            .map_err(ErreurApplication::stockage)?;
        let evenements = depot
            .executer::<Dossier>(
                &compte.to_string(),
                CommandeModeration::Bannir { raison, jusqu_a },
                meta,
            )
            .await?;
        // A retried command answers with its first events: the revocation follows them.
        let Some(EvenementModeration::CompteBanni { raison, jusqu_a }) =
            evenements.into_iter().next()
        else {
            return Err(ErreurApplication::CommandeReutilisee(meta.id_commande));
        };
        sqlx::query(
            "INSERT INTO revocations (compte_id, jusqu_a, raison, par, le) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (compte_id) DO UPDATE SET jusqu_a = EXCLUDED.jusqu_a, \
               raison = EXCLUDED.raison, par = EXCLUDED.par, le = EXCLUDED.le",
        )
        .bind(compte.uuid())
        .bind(jusqu_a)
        .bind(raison.as_str())
        .bind(meta.compte_id.map(CompteId::uuid))
        .bind(meta.horodatage)
        .execute(&self.pool)
        .await?;
        Ok(Revocation {
            compte_id: compte,
            jusqu_a,
            raison: raison.to_string(),
        })
    }

    /// Lifts the ban in force (`PAS_BANNI` without one).
    pub async fn retablir(
        &self,
        depot: &Depot,
        compte: CompteId,
        raison: Raison,
        meta: &Metadonnees,
    ) -> Result<(), ErreurApplication> {
        depot
            .executer::<Dossier>(
                &compte.to_string(),
                CommandeModeration::Retablir {
                    raison,
                    le: meta.horodatage,
                },
                meta,
            )
            .await?;
        sqlx::query("DELETE FROM revocations WHERE compte_id = $1")
            .bind(compte.uuid())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a kick, a mute or a move in the account's moderation stream.
    pub async fn consigner(
        &self,
        depot: &Depot,
        compte: CompteId,
        commande: CommandeModeration,
        meta: &Metadonnees,
    ) -> Result<(), ErreurApplication> {
        depot
            .executer::<Dossier>(&compte.to_string(), commande, meta)
            .await
            .map(drop)
    }

    /// An account's moderation record: its login, the ban in force, every action on it.
    pub async fn dossier(&self, compte: CompteId) -> Result<DossierCompte, ErreurApplication> {
        let (login,): (String,) = sqlx::query_as("SELECT login FROM comptes WHERE compte_id = $1")
            .bind(compte.uuid())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ErreurApplication::introuvable("compte", &compte))?;
        let flux = magasin::lecteur::flux_agregat(
            &self.pool,
            <Dossier as cqrs_es::Aggregate>::TYPE,
            &compte.to_string(),
        )
        .await?;
        let entrees = flux
            .into_iter()
            .map(|e| EntreeDossier {
                sequence: e.sequence,
                donnees: e
                    .payload
                    .get(&e.event_type)
                    .cloned()
                    .unwrap_or(e.payload.clone()),
                genre: e.event_type,
                par: e.compte_id,
                horodatage: e.recorded_at,
            })
            .collect();
        Ok(DossierCompte {
            compte_id: compte,
            login,
            bannissement: self.revocation(compte).await?,
            entrees,
        })
    }

    /// The ban in force on an account, if any (login and refresh ask on every call).
    pub async fn revocation(
        &self,
        compte: CompteId,
    ) -> Result<Option<Revocation>, ErreurApplication> {
        Ok(self
            .lire_revocations(Some(compte))
            .await?
            .into_iter()
            .next())
    }

    /// Every ban in force (what a gateway instance holds in memory).
    pub async fn revocations(&self) -> Result<Vec<Revocation>, ErreurApplication> {
        self.lire_revocations(None).await
    }

    async fn lire_revocations(
        &self,
        compte: Option<CompteId>,
    ) -> Result<Vec<Revocation>, ErreurApplication> {
        let lignes: Vec<(Uuid, Option<DateTime<Utc>>, String)> = sqlx::query_as(
            "SELECT compte_id, jusqu_a, raison FROM revocations \
             WHERE (jusqu_a IS NULL OR jusqu_a > now()) \
               AND ($1::uuid IS NULL OR compte_id = $1)",
        )
        .bind(compte.map(CompteId::uuid))
        .fetch_all(&self.pool)
        .await?;
        Ok(lignes
            .into_iter()
            .map(|(c, jusqu_a, raison)| Revocation {
                compte_id: CompteId::from_uuid(c),
                jusqu_a,
                raison,
            })
            .collect())
    }

    /// A game master's `Donner` or `Retirer` (cause `mj`) on a character's inventory.
    pub async fn corriger_inventaire(
        &self,
        depot: &Depot,
        joueur_id: JoueurId,
        correction: CommandeInventaire,
        meta: &Metadonnees,
    ) -> Result<Vec<EvenementInventaire>, ErreurApplication> {
        debug_assert!(matches!(
            correction,
            CommandeInventaire::Donner { .. } | CommandeInventaire::Retirer { .. }
        ));
        if self.monde.proprietaire(joueur_id).await?.is_none() {
            return Err(ErreurApplication::introuvable("personnage", &joueur_id));
        }
        depot
            .executer::<Inventaire>(&joueur_id.to_string(), correction, meta)
            .await
    }

    /// A player reports another's character (by id or by name) as one of its own.
    pub async fn signaler(
        &self,
        auteur: CompteId,
        joueur_id: JoueurId,
        cible_id: Option<JoueurId>,
        cible_nom: Option<&NomJoueur>,
        raison: &Raison,
    ) -> Result<IssueSignalement, ErreurApplication> {
        let auteur_nom = self.monde.verifier_proprietaire(auteur, joueur_id).await?;
        let cible = match (cible_id, cible_nom) {
            (Some(id), _) => id,
            (None, Some(nom)) => {
                let ligne: Option<(Uuid,)> =
                    sqlx::query_as("SELECT joueur_id FROM noms_joueurs WHERE cle = $1")
                        .bind(nom.cle())
                        .fetch_optional(&self.pool)
                        .await?;
                ligne
                    .map(|(id,)| JoueurId::from_uuid(id))
                    .ok_or_else(|| ErreurApplication::introuvable("personnage", nom))?
            }
            (None, None) => return Err(ErreurApplication::introuvable("personnage", &"(aucun)")),
        };
        let (cible_compte, cible_nom) = self
            .monde
            .proprietaire(cible)
            .await?
            .ok_or_else(|| ErreurApplication::introuvable("personnage", &cible))?;
        if cible_compte == auteur {
            return Err(refus(ErreurModeration::SignalementDeSoi));
        }
        let mut tx = self.pool.begin().await?;
        // One reporter at a time: two concurrent reports cannot both pass the limit.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("signalements:{auteur}"))
            .execute(&mut *tx)
            .await?;
        let (recents, plus_ancien): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT count(*), min(cree_le) FROM signalements \
             WHERE auteur_compte_id = $1 AND cree_le > now() - make_interval(secs => $2)",
        )
        .bind(auteur.uuid())
        .bind(FENETRE_SIGNALEMENTS.as_secs_f64())
        .fetch_one(&mut *tx)
        .await?;
        if recents >= SIGNALEMENTS_PAR_FENETRE {
            let fenetre = chrono::Duration::from_std(FENETRE_SIGNALEMENTS).unwrap_or_default();
            let rouvre = plus_ancien.map_or(Utc::now(), |t| t + fenetre);
            let attente = (rouvre - Utc::now()).to_std().unwrap_or_default();
            return Ok(IssueSignalement::TropTot(
                attente.max(Duration::from_secs(1)),
            ));
        }
        let signalement: Signalement = sqlx::query_as(
            "INSERT INTO signalements (signalement_id, auteur_compte_id, auteur_joueur_id, \
               auteur_nom, cible_compte_id, cible_joueur_id, cible_nom, raison) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(Uuid::new_v4())
        .bind(auteur.uuid())
        .bind(joueur_id.uuid())
        .bind(auteur_nom)
        .bind(cible_compte.uuid())
        .bind(cible.uuid())
        .bind(cible_nom)
        .bind(raison.as_str())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(IssueSignalement::Depose(Box::new(signalement)))
    }

    /// A page of reports, oldest first, after the cursor `apres` (a `numero`).
    pub async fn signalements(
        &self,
        etat: EtatSignalement,
        apres: i64,
        limite: u32,
    ) -> Result<Vec<Signalement>, ErreurApplication> {
        let filtre = match etat {
            EtatSignalement::Ouverts => "AND traite_le IS NULL",
            EtatSignalement::Traites => "AND traite_le IS NOT NULL",
            EtatSignalement::Tous => "",
        };
        Ok(sqlx::query_as(&format!(
            "SELECT * FROM signalements WHERE numero > $1 {filtre} ORDER BY numero LIMIT $2"
        ))
        .bind(apres)
        .bind(i64::from(limite))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Closes a report with a note (`SIGNALEMENT_DEJA_TRAITE` if it is closed).
    pub async fn traiter(
        &self,
        signalement_id: Uuid,
        par: CompteId,
        note: &Raison,
    ) -> Result<Signalement, ErreurApplication> {
        let traite: Option<Signalement> = sqlx::query_as(
            "UPDATE signalements SET traite_le = now(), traite_par = $2, note = $3 \
             WHERE signalement_id = $1 AND traite_le IS NULL RETURNING *",
        )
        .bind(signalement_id)
        .bind(par.uuid())
        .bind(note.as_str())
        .fetch_optional(&self.pool)
        .await?;
        if let Some(s) = traite {
            return Ok(s);
        }
        let existe: Option<(Uuid,)> =
            sqlx::query_as("SELECT signalement_id FROM signalements WHERE signalement_id = $1")
                .bind(signalement_id)
                .fetch_optional(&self.pool)
                .await?;
        Err(match existe {
            Some(_) => refus(ErreurModeration::SignalementDejaTraite),
            None => ErreurApplication::introuvable("signalement", &signalement_id),
        })
    }
}

fn refus(e: ErreurModeration) -> ErreurApplication {
    ErreurApplication::Regle(Refus::Moderation(e))
}
