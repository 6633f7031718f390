//! Who stands in which cell of its zone (`domain::interet`): one Redis set per cell
//! (`monde:cellule:<zone>:<cx_cy>`), and the character's current cell in its position hash
//! (`cellule`: `<zone>:<cx_cy>`), both written by [`Monde::noter_cellule`] after a move, a
//! zone change or a look at the zone. The sets are an index: a reader keeps a member only if
//! its position hash still puts it in that cell and its presence is fresh, so a stale member
//! (a lost update, an expired hash) is never shown, and is removed on the way.

use std::collections::HashMap;
use std::sync::LazyLock;

use domain::ids::JoueurId;
use domain::interet::Cellule;
use domain::valeurs::{CodeZone, Position};
use serde::Serialize;
use uuid::Uuid;

use super::positions::{ChangementCellule, changement_depuis, lire_position_datee};
use super::{DUREE_PRESENCE, Emplacement, Monde, maintenant_ms};
use crate::erreurs::ErreurApplication;

/// Moves the character's mark to its new cell; answers the cell it left (`""` if none was
/// noted), or nil if it did not change cell. For a zone change, a placement or a look at the
/// zone; a step notes its cell in its own script (`SCRIPT_DEPLACER`), the same way.
static SCRIPT_NOTER_CELLULE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local avant = redis.call('HGET', KEYS[1], 'cellule')
if avant == ARGV[1] then return nil end
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('HSET', KEYS[1], 'cellule', ARGV[1])
if avant then redis.call('SREM', ARGV[3] .. avant, ARGV[2]) end
redis.call('SADD', ARGV[3] .. ARGV[1], ARGV[2])
return avant or ''
",
    )
});

/// A character another sees: who, its name and class, where.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Visible {
    /// Who.
    pub joueur_id: JoueurId,
    /// Its name.
    pub nom: String,
    /// Its class (`null` while the read side has not yet seen the character created).
    pub classe: Option<String>,
    /// Its zone.
    pub zone: CodeZone,
    /// Where.
    pub position: Position,
}

impl Monde {
    /// The side of the interest cells, in metres (the catalog's `cellule_interet`).
    pub fn taille_cellule(&self) -> f64 {
        self.i.catalogue.regles().cellule_interet
    }

    /// The cell of a position.
    pub fn cellule(&self, position: Position) -> Cellule {
        Cellule::de(position, self.taille_cellule())
    }

    pub(super) fn cle_cellule(zone: &CodeZone, cellule: Cellule) -> String {
        format!("{}:{cellule}", zone.as_str())
    }

    /// Notes the character in the cell of `ici`, moving its mark from its previous cell; says
    /// whether and whence it changed cell. Called after a move, a zone change or a look at
    /// the zone; nothing is noted for a character with no position hash.
    pub async fn noter_cellule(
        &self,
        joueur_id: JoueurId,
        ici: &Emplacement,
    ) -> Result<ChangementCellule, ErreurApplication> {
        let cellule = Self::cle_cellule(&ici.zone, self.cellule(ici.position));
        let avant: Option<String> = SCRIPT_NOTER_CELLULE
            .key(self.cle_position(joueur_id))
            .arg(&cellule)
            .arg(joueur_id.to_string())
            .arg(self.cle("monde:cellule:"))
            .invoke_async(&mut self.redis())
            .await?;
        Ok(avant.map_or(ChangementCellule::Aucun, |a| changement_depuis(&a)))
    }

    /// The characters present in these cells of `zone`, with name, class and position.
    pub async fn visibles(
        &self,
        zone: &CodeZone,
        cellules: &[Cellule],
    ) -> Result<Vec<Visible>, ErreurApplication> {
        if cellules.is_empty() {
            return Ok(Vec::new());
        }
        let mut redis = self.redis();
        let mut pipe = redis::pipe();
        for &c in cellules {
            pipe.smembers(self.cle(&format!("monde:cellule:{}", Self::cle_cellule(zone, c))));
        }
        let membres: Vec<Vec<String>> = pipe.query_async(&mut redis).await?;
        let mut candidats: Vec<(JoueurId, Cellule)> = Vec::new();
        for (&c, ids) in cellules.iter().zip(membres) {
            candidats.extend(
                ids.iter()
                    .filter_map(|id| Uuid::parse_str(id).ok())
                    .map(|u| (JoueurId::from_uuid(u), c)),
            );
        }
        if candidats.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (j, _) in &candidats {
            pipe.cmd("HMGET")
                .arg(self.cle_position(*j))
                .arg(&["zone", "x", "y", "t"]);
            pipe.zscore(self.cle_presence(zone), j.to_string());
        }
        let reponses: Vec<redis::Value> = pipe.query_async(&mut redis).await?;
        let seuil = maintenant_ms() - DUREE_PRESENCE.as_millis() as i64;
        let mut gardes = Vec::new();
        let mut egares = redis::pipe();
        for ((joueur_id, c), paire) in candidats.into_iter().zip(reponses.chunks(2)) {
            let champs: Vec<Option<String>> =
                redis::from_redis_value(&paire[0]).unwrap_or_default();
            let score: Option<f64> = redis::from_redis_value(&paire[1]).unwrap_or(None);
            let ici = lire_position_datee(&champs)
                .filter(|e| &e.emplacement.zone == zone)
                .filter(|e| self.cellule(e.emplacement.position) == c);
            match ici {
                Some(e) if score.is_some_and(|s| s as i64 >= seuil) => {
                    gardes.push((joueur_id, e.emplacement.position));
                }
                Some(_) => {}
                None => {
                    let cle = self.cle(&format!("monde:cellule:{}", Self::cle_cellule(zone, c)));
                    egares.srem(cle, joueur_id.to_string()).ignore();
                }
            }
        }
        let _: () = egares.query_async(&mut redis).await?;
        let ids: Vec<JoueurId> = gardes.iter().map(|(j, _)| *j).collect();
        let mut noms = self.noms(&ids).await?;
        let mut classes = self.classes(&ids).await?;
        Ok(gardes
            .into_iter()
            .map(|(joueur_id, position)| Visible {
                joueur_id,
                nom: noms.remove(&joueur_id).unwrap_or_default(),
                classe: classes.remove(&joueur_id),
                zone: zone.clone(),
                position,
            })
            .collect())
    }

    /// How many characters are present in `zone`.
    pub async fn effectif(&self, zone: &CodeZone) -> Result<u64, ErreurApplication> {
        let seuil = maintenant_ms() - DUREE_PRESENCE.as_millis() as i64;
        let n: u64 = redis::cmd("ZCOUNT")
            .arg(self.cle_presence(zone))
            .arg(seuil)
            .arg("+inf")
            .query_async(&mut self.redis())
            .await?;
        Ok(n)
    }

    /// The classes of these characters, from the read side (a class never changes; a
    /// character the read side has not seen yet has none here): kept in memory once read,
    /// the missing ones in one query.
    pub async fn classes(
        &self,
        joueurs: &[JoueurId],
    ) -> Result<HashMap<JoueurId, String>, ErreurApplication> {
        let (mut classes, manquants) = self.i.classes.trier(joueurs, String::clone);
        if manquants.is_empty() {
            return Ok(classes);
        }
        let lignes: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT joueur_id, classe FROM lecture.joueurs WHERE joueur_id = ANY($1)",
        )
        .bind(&manquants)
        .fetch_all(self.pool())
        .await?;
        let lues: Vec<(JoueurId, String)> = lignes
            .into_iter()
            .map(|(j, c)| (JoueurId::from_uuid(j), c))
            .collect();
        self.i.classes.garder(lues.iter().cloned());
        classes.extend(lues);
        Ok(classes)
    }
}
