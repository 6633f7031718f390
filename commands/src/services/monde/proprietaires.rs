//! Who owns a character, and its name: read from the name reservations, kept in memory (an
//! owner and a name never change).

use std::collections::HashMap;

use domain::ids::{CompteId, JoueurId};
use uuid::Uuid;

use super::Monde;
use crate::erreurs::ErreurApplication;

impl Monde {
    /// A character's account and name (`None` if no such character).
    pub async fn proprietaire(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Option<(CompteId, String)>, ErreurApplication> {
        if let Some(connu) = self.i.proprietaires.lire(joueur_id) {
            return Ok(Some(connu));
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
        self.i.proprietaires.garder([(joueur_id, connu.clone())]);
        Ok(Some(connu))
    }

    /// The names of these characters: from the cache, the missing ones in one query.
    pub(super) async fn noms(
        &self,
        joueurs: &[JoueurId],
    ) -> Result<HashMap<JoueurId, String>, ErreurApplication> {
        let (mut noms, manquants) = self.i.proprietaires.trier(joueurs, |(_, nom)| nom.clone());
        if manquants.is_empty() {
            return Ok(noms);
        }
        let lignes: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT joueur_id, compte_id, nom FROM noms_joueurs WHERE joueur_id = ANY($1)",
        )
        .bind(&manquants)
        .fetch_all(&self.i.pool)
        .await?;
        let lus: Vec<(JoueurId, (CompteId, String))> = lignes
            .into_iter()
            .map(|(j, compte, nom)| (JoueurId::from_uuid(j), (CompteId::from_uuid(compte), nom)))
            .collect();
        noms.extend(lus.iter().map(|(j, (_, nom))| (*j, nom.clone())));
        self.i.proprietaires.garder(lus);
        Ok(noms)
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
