//! Who owns a character, and its name: read from the name reservations, kept in memory (an
//! owner and a name never change).

use std::collections::HashMap;

use domain::ids::{CompteId, JoueurId};
use uuid::Uuid;

use super::Monde;
use crate::erreurs::ErreurApplication;

/// Owners and names cached before the cache is cleared (both never change).
const PROPRIETAIRES_MAX: usize = 100_000;

impl Monde {
    /// A character's account and name (`None` if no such character).
    pub async fn proprietaire(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Option<(CompteId, String)>, ErreurApplication> {
        if let Some(connu) = self.cache_proprietaires().get(&joueur_id) {
            return Ok(Some(connu.clone()));
        }
        let ligne: Option<(Uuid, String)> =
            sqlx::query_as("SELECT compte_id, nom FROM noms_joueurs WHERE joueur_id = $1")
                .bind(joueur_id.uuid())
                .fetch_optional(&self.i.pool)
                .await?;
        let Some((compte, nom)) = ligne else {
            return Ok(None);
        };
        let connu = (CompteId::from_uuid(compte), nom);
        let mut cache = self.cache_proprietaires();
        if cache.len() >= PROPRIETAIRES_MAX {
            cache.clear();
        }
        cache.insert(joueur_id, connu.clone());
        Ok(Some(connu))
    }

    /// The names of these characters: from the cache, the missing ones in one query.
    pub(super) async fn noms(
        &self,
        joueurs: &[JoueurId],
    ) -> Result<HashMap<JoueurId, String>, ErreurApplication> {
        let mut noms = HashMap::with_capacity(joueurs.len());
        let mut manquants = Vec::new();
        {
            let cache = self.cache_proprietaires();
            for j in joueurs {
                match cache.get(j) {
                    Some((_, nom)) => {
                        noms.insert(*j, nom.clone());
                    }
                    None => manquants.push(j.uuid()),
                }
            }
        }
        if manquants.is_empty() {
            return Ok(noms);
        }
        let lignes: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT joueur_id, compte_id, nom FROM noms_joueurs WHERE joueur_id = ANY($1)",
        )
        .bind(&manquants)
        .fetch_all(&self.i.pool)
        .await?;
        let mut cache = self.cache_proprietaires();
        if cache.len() + lignes.len() >= PROPRIETAIRES_MAX {
            cache.clear();
        }
        for (j, compte, nom) in lignes {
            let j = JoueurId::from_uuid(j);
            cache.insert(j, (CompteId::from_uuid(compte), nom.clone()));
            noms.insert(j, nom);
        }
        Ok(noms)
    }

    fn cache_proprietaires(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<JoueurId, (CompteId, String)>> {
        self.i
            .proprietaires
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks that the character belongs to the account; its name.
    pub async fn verifier_proprietaire(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
    ) -> Result<String, ErreurApplication> {
        match self.proprietaire(joueur_id).await? {
            None => Err(ErreurApplication::introuvable("personnage", &joueur_id)),
            Some((c, nom)) if c == compte => Ok(nom),
            Some(_) => Err(ErreurApplication::Interdit),
        }
    }
}
