//! Service Joueur: creating characters, with a name unique across the game and a limit of
//! characters per account, and their inventory opened with the starting kit.

use domain::ids::{CompteId, JoueurId};
use domain::inventaire::{CommandeInventaire, ErreurInventaire, Inventaire};
use domain::joueur::{CommandeJoueur, Joueur};
use domain::valeurs::{Classe, NomJoueur};
use magasin::Metadonnees;
use uuid::Uuid;

use crate::depot::Depot;
use crate::erreurs::{ErreurApplication, Refus};

/// Creates a character for an account. The id derives from the request's command id, so a
/// retried request finds its own reservation and creates nothing twice: the name is the one
/// its first attempt reserved, whatever name the retry sends (a replay's parameters are not
/// compared, doc/protocole.md §3.4).
#[tracing::instrument(level = "debug", skip_all, fields(%compte))]
pub async fn creer_personnage(
    depot: &Depot,
    compte: CompteId,
    nom: NomJoueur,
    classe: Classe,
    meta: &Metadonnees,
) -> Result<JoueurId, ErreurApplication> {
    let joueur_id = JoueurId::from_uuid(Uuid::new_v5(&meta.id_commande, b"joueur"));
    let max = depot.catalogue().regles().personnages_par_compte;
    let nom = reserver_nom(depot, compte, nom, joueur_id, max, meta.id_commande).await?;
    let creer = CommandeJoueur::Creer {
        joueur_id,
        compte_id: compte,
        nom,
        classe,
    };
    depot
        .executer::<Joueur>(&joueur_id.to_string(), creer, meta)
        .await?;
    let ouvrir = CommandeInventaire::Ouvrir { joueur_id };
    match depot
        .executer::<Inventaire>(&joueur_id.to_string(), ouvrir, &meta.etape("inventaire"))
        .await
    {
        // The process manager reacting to `JoueurCree` may open it first: it is open, as asked.
        Ok(_) | Err(ErreurApplication::Regle(Refus::Inventaire(ErreurInventaire::DejaOuvert))) => {}
        Err(e) => return Err(e),
    }
    Ok(joueur_id)
}

/// Reserves a name for a character: unique across the game (the table's key), at most `max`
/// per account (counted under a per-account lock, so concurrent creations cannot both pass).
/// The name reserved is returned: the one asked, or, if this character already holds one
/// (a retried request), that one.
async fn reserver_nom(
    depot: &Depot,
    compte: CompteId,
    nom: NomJoueur,
    joueur_id: JoueurId,
    max: u32,
    id_commande: Uuid,
) -> Result<NomJoueur, ErreurApplication> {
    let mut tx = depot.pool().begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(compte.uuid())
        .execute(&mut *tx)
        .await?;
    if let Some(reserve) = nom_reserve(&mut tx, compte, joueur_id, id_commande).await? {
        return Ok(reserve);
    }
    let pris: Option<(Uuid,)> = sqlx::query_as("SELECT joueur_id FROM noms_joueurs WHERE cle = $1")
        .bind(nom.cle())
        .fetch_optional(&mut *tx)
        .await?;
    if pris.is_some() {
        return Err(ErreurApplication::NomDejaPris(nom));
    }
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM noms_joueurs WHERE compte_id = $1")
        .bind(compte.uuid())
        .fetch_one(&mut *tx)
        .await?;
    if n >= i64::from(max) {
        return Err(ErreurApplication::TropDePersonnages { max });
    }
    let insertion = sqlx::query(
        "INSERT INTO noms_joueurs (cle, nom, joueur_id, compte_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(nom.cle())
    .bind(nom.as_str())
    .bind(joueur_id.uuid())
    .bind(compte.uuid())
    .execute(&mut *tx)
    .await;
    match insertion {
        Ok(_) => {}
        // Another account took the name, or this character's id, between our checks and our
        // insert (the per-account lock does not cover other accounts).
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            drop(tx);
            let mut connexion = depot.pool().acquire().await?;
            return match nom_reserve(&mut connexion, compte, joueur_id, id_commande).await? {
                Some(reserve) => Ok(reserve),
                None => Err(ErreurApplication::NomDejaPris(nom)),
            };
        }
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            return Err(ErreurApplication::introuvable("compte", &compte));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(nom)
}

/// The name a character's id already holds, if any: a retried creation. From another
/// account, the command id that derived the character's id was used twice.
async fn nom_reserve(
    tx: &mut sqlx::PgConnection,
    compte: CompteId,
    joueur_id: JoueurId,
    id_commande: Uuid,
) -> Result<Option<NomJoueur>, ErreurApplication> {
    let reserve: Option<(String, Uuid)> =
        sqlx::query_as("SELECT nom, compte_id FROM noms_joueurs WHERE joueur_id = $1")
            .bind(joueur_id.uuid())
            .fetch_optional(&mut *tx)
            .await?;
    let Some((nom, proprietaire)) = reserve else {
        return Ok(None);
    };
    if proprietaire != compte.uuid() {
        return Err(ErreurApplication::CommandeReutilisee(id_commande));
    }
    NomJoueur::parse(&nom)
        .map(Some)
        .map_err(ErreurApplication::stockage)
}
