//! Who is in a zone: one sorted set per zone scored by each character's last sign of life,
//! the characters present, those near one, and a character's view of its zone.

use std::time::Duration;

use domain::ids::{CompteId, JoueurId};
use domain::interet::Cellule;
use domain::valeurs::{CodeZone, Position};
use serde::Serialize;
use uuid::Uuid;

use super::interet::Visible;
use super::positions::{ChangementCellule, lire_position_datee};
use super::{Emplacement, Monde, introuvable_position, maintenant_ms};
use crate::erreurs::ErreurApplication;

/// How long a character counts as present in its zone after its last sign of life (a move,
/// a look at the zone, a heartbeat of its socket).
pub const DUREE_PRESENCE: Duration = Duration::from_secs(45);

/// Characters listed in a zone, at most.
const PRESENTS_MAX: isize = 500;

/// A character present in a zone.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Present {
    /// Who.
    pub joueur_id: JoueurId,
    /// Its name.
    pub nom: String,
    /// Where.
    pub position: Position,
}

/// A character near another one.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Proche {
    /// Who.
    pub joueur_id: JoueurId,
    /// Its name.
    pub nom: String,
    /// Where.
    pub position: Position,
    /// How far, in metres.
    pub distance: f64,
}

/// A character's view of its zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VueZone {
    /// Where the character stands.
    pub emplacement: Emplacement,
    /// Who is present in its interest area (its cell and the eight around it, the character
    /// included): those it sees move (doc/monde_chat.md, « Intérêt »); nearest first, at most
    /// 500.
    pub presents: Vec<Visible>,
    /// How many characters are present in the whole zone.
    pub effectif: u64,
    /// Whether the look changed the character's cell mark (see [`Monde::noter_cellule`]).
    #[serde(skip)]
    pub changement: ChangementCellule,
}

impl Monde {
    /// A sign of life of these characters: present in their zone for [`DUREE_PRESENCE`] more.
    /// Characters with no position are skipped.
    pub async fn signaler_presence(&self, joueurs: &[JoueurId]) -> Result<(), ErreurApplication> {
        let t = maintenant_ms();
        let mut pipe = redis::pipe();
        for &joueur_id in joueurs {
            if let Some(etat) = self.position_datee(joueur_id).await? {
                pipe.zadd(
                    self.cle_presence(&etat.emplacement.zone),
                    joueur_id.to_string(),
                    t,
                )
                .ignore();
            }
        }
        let _: () = pipe.query_async(&mut self.redis()).await?;
        Ok(())
    }

    /// The caller's character's view of its zone: where it stands, who is present near it and
    /// how many in the zone; notes it in its interest cell. Places
    /// it at the start first if it has no position yet (created before Service Monde placed
    /// it), and counts as a sign of life.
    pub async fn vue_zone(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
    ) -> Result<VueZone, ErreurApplication> {
        self.verifier_proprietaire(compte, joueur_id).await?;
        let emplacement = match self.emplacement(joueur_id).await? {
            Some(e) => e,
            None => self.placer_au_depart(joueur_id).await?,
        };
        self.signaler_presence(&[joueur_id]).await?;
        let changement = self.noter_cellule(joueur_id, &emplacement).await?;
        let aire = self.cellule(emplacement.position).aire();
        let mut presents = self.visibles(&emplacement.zone, &aire).await?;
        // A crowded area answers its nearest: the answer stays bounded whatever the crowd.
        let ici = emplacement.position;
        presents.sort_by(|a, b| {
            ici.distance(a.position)
                .total_cmp(&ici.distance(b.position))
        });
        presents.truncate(PRESENTS_MAX.unsigned_abs());
        let effectif = self.effectif(&emplacement.zone).await?;
        Ok(VueZone {
            emplacement,
            presents,
            effectif,
            changement,
        })
    }

    /// The characters present near the caller's, within `rayon` metres, nearest first (the
    /// character itself excluded): read from the interest cells that the circle touches, so
    /// the answer's cost grows with the crowd around, not with the zone's.
    pub async fn proches(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
        rayon: f64,
    ) -> Result<Vec<Proche>, ErreurApplication> {
        self.verifier_proprietaire(compte, joueur_id).await?;
        let ici = self
            .emplacement(joueur_id)
            .await?
            .ok_or_else(|| introuvable_position(joueur_id))?;
        let cellules = Cellule::autour(ici.position, rayon, self.taille_cellule());
        let mut proches: Vec<Proche> = self
            .visibles(&ici.zone, &cellules)
            .await?
            .into_iter()
            .filter(|v| v.joueur_id != joueur_id)
            .map(|v| Proche {
                distance: ici.position.distance(v.position),
                joueur_id: v.joueur_id,
                nom: v.nom,
                position: v.position,
            })
            .filter(|p| p.distance <= rayon)
            .collect();
        proches.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        Ok(proches)
    }

    /// Who is present in a zone, with their positions, most recently active first. Forgets
    /// the presences older than [`DUREE_PRESENCE`] on the way.
    pub async fn presents(&self, zone: &CodeZone) -> Result<Vec<Present>, ErreurApplication> {
        let cle = self.cle_presence(zone);
        let seuil = maintenant_ms() - DUREE_PRESENCE.as_millis() as i64;
        let mut redis = self.redis();
        let (ids,): (Vec<String>,) = redis::pipe()
            .zrembyscore(&cle, "-inf", format!("({seuil}"))
            .ignore()
            .zrevrangebyscore_limit(&cle, "+inf", seuil, 0, PRESENTS_MAX)
            .query_async(&mut redis)
            .await?;
        let joueurs: Vec<JoueurId> = ids
            .iter()
            .filter_map(|id| Uuid::parse_str(id).ok().map(JoueurId::from_uuid))
            .collect();
        // One round trip for every position. A present character whose position is missing
        // (Redis lost it) was not writing to Redis lately: it is left out rather than reloaded.
        let mut pipe = redis::pipe();
        for &j in &joueurs {
            pipe.cmd("HMGET")
                .arg(self.cle_position(j))
                .arg(&["zone", "x", "y", "t"]);
        }
        let lignes: Vec<Vec<Option<String>>> = pipe.query_async(&mut redis).await?;
        let mut noms = self.noms(&joueurs).await?;
        let presents = joueurs
            .into_iter()
            .zip(lignes)
            .filter_map(|(joueur_id, champs)| {
                let etat = lire_position_datee(&champs)?;
                // A presence can outlive a zone change: the position decides.
                (&etat.emplacement.zone == zone).then(|| Present {
                    joueur_id,
                    nom: noms.remove(&joueur_id).unwrap_or_default(),
                    position: etat.emplacement.position,
                })
            })
            .collect();
        Ok(presents)
    }
}
