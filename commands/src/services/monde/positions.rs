//! Where a character stands: hot in Redis (one hash per character, with its distance budget,
//! written by every move and zone change through a script that checks nobody moved the
//! character meanwhile), read back from PostgreSQL on a miss; placement at the start or
//! anywhere (an admin's tool), moves and zone changes decided by the domain's rules
//! (`domain::monde`).

use std::time::Duration;

use domain::ids::{CompteId, JoueurId};
use domain::interet::Cellule;
use domain::monde::{Credit, ErreurMonde, decider_changement, decider_deplacement};
use domain::valeurs::{CodeZone, Position};
use serde::{Deserialize, Serialize};

use super::{Monde, introuvable_position, maintenant_ms};
use crate::erreurs::ErreurApplication;
use crate::services::fiche_possedee;

/// How long a position stays in Redis without a move (it comes back from PostgreSQL on the
/// next read). Far longer than [`PERIODE_ECRITURE`]: a dirty position is written long before.
const DUREE_CACHE_S: i64 = 24 * 3600;

/// Where a character stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Emplacement {
    /// Its zone.
    pub zone: CodeZone,
    /// Its position in the zone.
    pub position: Position,
}

/// Where a character's cell mark went: the cell it left, if it changed. The mark is the
/// position hash's `cellule` field (interet.rs keeps the index it points into).
#[derive(Debug, Clone, PartialEq)]
pub enum ChangementCellule {
    /// Same cell as at its last note.
    Aucun,
    /// It changed cell: from this one (`None` when none was noted: a first look, or its
    /// position hash came back from PostgreSQL).
    Depuis(Option<(CodeZone, Cellule)>),
}

/// A change of cell from the cell mark a script answered (`<zone>:<cx_cy>`, `""`: none).
pub(super) fn changement_depuis(avant: &str) -> ChangementCellule {
    ChangementCellule::Depuis(
        avant
            .split_once(':')
            .and_then(|(z, c)| Some((CodeZone::parse(z).ok()?, c.parse::<Cellule>().ok()?))),
    )
}

/// A step taken: where the character now stands, and whether it changed interest cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Pas {
    /// Where it stands.
    pub emplacement: Emplacement,
    /// The cell it left, if the step took it into another one.
    pub changement: ChangementCellule,
}

/// What became of a step decided from a position.
enum Essai {
    /// Written.
    Fait(Pas),
    /// Refused by the rules, from that position.
    Refuse(ErreurMonde),
    /// Not written: Redis no longer holds that position; what it holds (`None`: nothing).
    Perime(Option<PositionDatee>),
}

/// A position as Redis holds it: with the instant of its move and the distance budget left
/// then (`None`: no budget stored, a full one).
#[derive(Debug, Clone)]
pub(super) struct PositionDatee {
    pub(super) emplacement: Emplacement,
    pub(super) t: i64,
    pub(super) credit: Option<Credit>,
}

/// The fields of a position's hash, in the order [`lire_position_datee`] reads them.
const CHAMPS: [&str; 5] = ["zone", "x", "y", "t", "credit"];

/// A move, applied only if the character still stands where it was decided from (same zone,
/// same instant): two concurrent moves, or a move racing a zone change, cannot both apply,
/// and the budget (`credit`) is spent by one of them only: it is written with the position.
/// The step's interest cell (`ARGV[9]`, `<zone>:<cx_cy>`) is noted in the same call, as
/// [`Monde::noter_cellule`] does: a step is one round trip. Answers `{1}` (same cell as before),
/// `{1, left}` (it changed cell: the cell it left, `''` if none was noted), or, when the check
/// fails, `{0, zone, x, y, t, credit}`: where the character stands now (all nil if its hash is
/// gone), for the caller to decide again.
pub(super) const SCRIPT_DEPLACER: &str = r"
local actuel = redis.call('HMGET', KEYS[1], 'zone', 'x', 'y', 't', 'credit', 'cellule')
if actuel[1] ~= ARGV[1] or actuel[4] ~= ARGV[2] then
  return {0, actuel[1], actuel[2], actuel[3], actuel[4], actuel[5]}
end
redis.call('HSET', KEYS[1], 'x', ARGV[3], 'y', ARGV[4], 't', ARGV[5], 'credit', ARGV[8])
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('SADD', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
local avant = actuel[6]
if avant == ARGV[9] then return {1} end
redis.call('HSET', KEYS[1], 'cellule', ARGV[9])
if avant then redis.call('SREM', ARGV[10] .. avant, ARGV[6]) end
redis.call('SADD', ARGV[10] .. ARGV[9], ARGV[6])
return {1, avant or ''}
";

/// Puts the character in a zone at a point: a zone change, or a placement (an admin's tool).
/// Applied only if the character still stands where it was decided from (`ARGV[1]`,
/// `ARGV[2]`: its zone and instant then; an empty zone for a character that had no position),
/// like a move: a move racing it cannot slip in between. The hash is replaced whole, but for
/// the interest cell last noted (`cellule`: the next [`Monde::noter_cellule`] tells the old
/// cell's neighbours the character left), with the budget given (`ARGV[9]`: carried through a
/// portal, full after a placement) and `depuis` (`ARGV[10]`), the zone a portal was taken
/// from, to answer a retried zone change (empty after a placement, which is no portal's
/// arrival). PostgreSQL already holds the new place,
/// newer than any pending move: the dirty mark goes, and the presence moves to the new zone.
pub(super) const SCRIPT_POSER: &str = r"
if ARGV[1] ~= '' then
  local actuel = redis.call('HMGET', KEYS[1], 'zone', 't')
  if actuel[1] ~= ARGV[1] or actuel[2] ~= ARGV[2] then return 0 end
end
local cellule = redis.call('HGET', KEYS[1], 'cellule')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'zone', ARGV[3], 'x', ARGV[4], 'y', ARGV[5], 't', ARGV[6],
  'credit', ARGV[9])
if cellule then redis.call('HSET', KEYS[1], 'cellule', cellule) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'depuis', ARGV[10]) end
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('SREM', KEYS[2], ARGV[7])
redis.call('ZREM', KEYS[3], ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[7])
return 1
";

/// A refill from PostgreSQL, only if no move wrote the position meanwhile. No budget is
/// stored: it reads as full (doc/monde_chat.md says why).
pub(super) const SCRIPT_REMPLIR: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'zone', ARGV[1], 'x', ARGV[2], 'y', ARGV[3], 't', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
";

impl Monde {
    /// Places a character at the start zone's `depart` if it has no position yet, durably
    /// (PostgreSQL); returns where it stands. Idempotent: a placed character stays where it
    /// is. No ownership check: the process manager reacting to `JoueurCree` calls it.
    pub async fn placer_au_depart(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Emplacement, ErreurApplication> {
        let zone = self.i.catalogue.regles().zone_depart.clone();
        let depart = self
            .i
            .catalogue
            .zone(&zone)
            .map(|z| z.depart)
            .ok_or_else(|| ErreurApplication::introuvable("zone", &zone.as_str()))?;
        let insertion = sqlx::query(
            "INSERT INTO positions (joueur_id, zone, x, y) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (joueur_id) DO NOTHING",
        )
        .bind(joueur_id.uuid())
        .bind(zone.as_str())
        .bind(depart.x())
        .bind(depart.y())
        .execute(&self.i.pool)
        .await;
        match insertion {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(ErreurApplication::introuvable("personnage", &joueur_id));
            }
            Err(e) => return Err(e.into()),
        }
        self.emplacement(joueur_id)
            .await?
            .ok_or_else(|| introuvable_position(joueur_id))
    }

    /// Where a character stands: Redis first, PostgreSQL on a miss (refilling Redis). `None`
    /// if it was never placed.
    pub async fn emplacement(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Option<Emplacement>, ErreurApplication> {
        Ok(self.position_datee(joueur_id).await?.map(|e| e.emplacement))
    }

    pub(super) async fn position_datee(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Option<PositionDatee>, ErreurApplication> {
        let cle = self.cle_position(joueur_id);
        let mut redis = self.redis();
        let champs: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&cle)
            .arg(&CHAMPS)
            .query_async(&mut redis)
            .await?;
        if let Some(etat) = lire_position_datee(&champs) {
            return Ok(Some(etat));
        }
        let ligne: Option<(String, f64, f64, i64)> = sqlx::query_as(
            "SELECT zone, x, y, (extract(epoch FROM mis_a_jour) * 1000)::bigint \
             FROM positions WHERE joueur_id = $1",
        )
        .bind(joueur_id.uuid())
        .fetch_optional(&self.i.pool)
        .await?;
        let Some((zone, x, y, t)) = ligne else {
            return Ok(None);
        };
        let rempli: i64 = self
            .i
            .remplir
            .key(&cle)
            .arg(&zone)
            .arg(x.to_string())
            .arg(y.to_string())
            .arg(t)
            .arg(DUREE_CACHE_S)
            .invoke_async(&mut redis)
            .await?;
        if rempli == 0 {
            // A move wrote it between our two reads: that one is newer.
            let champs: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(&cle)
                .arg(&CHAMPS)
                .query_async(&mut redis)
                .await?;
            return Ok(lire_position_datee(&champs));
        }
        Ok(lire_position_datee(&[
            Some(zone),
            Some(x.to_string()),
            Some(y.to_string()),
            Some(t.to_string()),
            None,
        ]))
    }

    /// Moves the caller's character inside its zone: within the zone's bounds, no farther
    /// than its distance budget allows now (`domain::monde::Credit`), which the step spends.
    /// Marks it present and dirty, and notes its interest cell. A refused step is
    /// [`ErreurApplication::PasRefuse`], with where the character still stands.
    ///
    /// One Redis round trip when this instance moved the character last: the step is decided
    /// from the position it keeps in memory, and written by a script that applies it only if
    /// Redis, the shared copy, still agrees (doc/monde_chat.md, « Un pas, un aller-retour »).
    /// When it does not (another instance moved the character, a zone change, an expired
    /// hash), the step is decided again once from what Redis holds; a refusal decided from
    /// memory is checked the same way before it is answered.
    pub async fn deplacer(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
        vers: Position,
    ) -> Result<Pas, ErreurApplication> {
        self.verifier_proprietaire(compte, joueur_id).await?;
        let chaude = self.position_chaude(joueur_id);
        let mut relu = chaude.is_none();
        let mut etat = match chaude {
            Some(e) => e,
            None => self.position_partagee(joueur_id).await?,
        };
        loop {
            match self.essayer_pas(joueur_id, &etat, vers).await? {
                Essai::Fait(pas) => return Ok(pas),
                Essai::Refuse(refus) if relu => {
                    return Err(ErreurApplication::PasRefuse {
                        refus,
                        zone: etat.emplacement.zone,
                        position: etat.emplacement.position,
                    });
                }
                Essai::Perime(_) if relu => return Err(ErreurApplication::Conflit),
                Essai::Perime(Some(e)) => {
                    self.garder_chaude(joueur_id, e.clone());
                    etat = e;
                }
                Essai::Refuse(_) | Essai::Perime(None) => {
                    etat = self.position_partagee(joueur_id).await?;
                }
            }
            relu = true;
        }
    }

    /// Where the character stands as Redis holds it (refilled from PostgreSQL on a miss),
    /// kept in memory for its next step.
    async fn position_partagee(
        &self,
        joueur_id: JoueurId,
    ) -> Result<PositionDatee, ErreurApplication> {
        let etat = self
            .position_datee(joueur_id)
            .await?
            .ok_or_else(|| introuvable_position(joueur_id))?;
        self.garder_chaude(joueur_id, etat.clone());
        Ok(etat)
    }

    /// Decides a step from `etat` and writes it if Redis still holds `etat`.
    async fn essayer_pas(
        &self,
        joueur_id: JoueurId,
        etat: &PositionDatee,
        vers: Position,
    ) -> Result<Essai, ErreurApplication> {
        let zone = &etat.emplacement.zone;
        let regle = self.i.catalogue.deplacement();
        let Some(def) = self.i.catalogue.zone(zone) else {
            return Ok(Essai::Refuse(ErreurMonde::ZoneInconnue(zone.clone())));
        };
        let (t, ecoule) = horodater(etat.t);
        let credit = etat.credit.unwrap_or_else(|| Credit::plein(regle));
        let reste = match decider_deplacement(
            regle,
            zone,
            def,
            etat.emplacement.position,
            credit,
            ecoule,
            vers,
        ) {
            Ok(reste) => reste,
            Err(refus) => return Ok(Essai::Refuse(refus)),
        };
        let cellule = self.cellule(vers);
        let reponse: Vec<Option<String>> = self
            .i
            .deplacer
            .key(self.cle_position(joueur_id))
            .key(self.cle_sales())
            .key(self.cle_presence(zone))
            .arg(zone.as_str())
            .arg(etat.t)
            .arg(vers.x().to_string())
            .arg(vers.y().to_string())
            .arg(t)
            .arg(joueur_id.to_string())
            .arg(DUREE_CACHE_S)
            .arg(reste.metres().to_string())
            .arg(Self::cle_cellule(zone, cellule))
            .arg(self.cle("monde:cellule:"))
            .invoke_async(&mut self.redis())
            .await?;
        match reponse.split_first() {
            Some((Some(applique), reste_reponse)) if applique == "1" => {
                let emplacement = Emplacement {
                    zone: zone.clone(),
                    position: vers,
                };
                self.garder_chaude(
                    joueur_id,
                    PositionDatee {
                        emplacement: emplacement.clone(),
                        t,
                        credit: Some(reste),
                    },
                );
                let changement = match reste_reponse.first() {
                    None => ChangementCellule::Aucun,
                    Some(avant) => changement_depuis(avant.as_deref().unwrap_or_default()),
                };
                Ok(Essai::Fait(Pas {
                    emplacement,
                    changement,
                }))
            }
            Some((_, actuel)) => Ok(Essai::Perime(lire_position_datee(actuel))),
            None => Ok(Essai::Perime(None)),
        }
    }

    /// Puts a character at a point of any zone, at once: an admin's tool (and the tests'),
    /// not a move, so no speed rule and no portal. Like a zone change, written to PostgreSQL
    /// before the answer, then to Redis if nobody moved the character since it was read
    /// (else [`ErreurApplication::Conflit`], retryable, PostgreSQL left as it was). The
    /// budget starts full: a placed character may walk on at once. No ownership check: the
    /// caller decides who may place.
    pub async fn placer(
        &self,
        joueur_id: JoueurId,
        ou: Emplacement,
    ) -> Result<Emplacement, ErreurApplication> {
        let def =
            self.i.catalogue.zone(&ou.zone).ok_or_else(|| {
                ErreurApplication::monde(ErreurMonde::ZoneInconnue(ou.zone.clone()))
            })?;
        if !def.contient(ou.position) {
            return Err(ErreurApplication::monde(ErreurMonde::HorsZone {
                zone: ou.zone.clone(),
                largeur: def.largeur as u32,
                hauteur: def.hauteur as u32,
            }));
        }
        if self.proprietaire(joueur_id).await?.is_none() {
            return Err(ErreurApplication::introuvable("personnage", &joueur_id));
        }
        let avant = self.position_datee(joueur_id).await?;
        let (t, _) = horodater(avant.as_ref().map_or(0, |a| a.t));
        let plein = Credit::plein(self.i.catalogue.deplacement());
        self.poser(joueur_id, avant.as_ref(), &ou, t, plein, None)
            .await?;
        Ok(ou)
    }

    /// Writes a character's new place, zone change or placement: PostgreSQL first, in a
    /// transaction held across the Redis script ([`SCRIPT_POSER`]), so that a move that
    /// slipped in since `avant` was read wins the race ([`ErreurApplication::Conflit`]) and
    /// the row is then left as it was.
    async fn poser(
        &self,
        joueur_id: JoueurId,
        avant: Option<&PositionDatee>,
        ou: &Emplacement,
        t: i64,
        credit: Credit,
        depuis: Option<&CodeZone>,
    ) -> Result<(), ErreurApplication> {
        let (zone_avant, t_avant) = avant.map_or((String::new(), String::new()), |a| {
            (a.emplacement.zone.as_str().to_owned(), a.t.to_string())
        });
        let presence_avant = self.cle_presence(avant.map_or(&ou.zone, |a| &a.emplacement.zone));
        let mut tx = self.i.pool.begin().await?;
        changer_zone_en_base(&mut tx, joueur_id, ou, t).await?;
        let applique: i64 = self
            .i
            .poser
            .key(self.cle_position(joueur_id))
            .key(self.cle_sales())
            .key(presence_avant)
            .key(self.cle_presence(&ou.zone))
            .arg(zone_avant)
            .arg(t_avant)
            .arg(ou.zone.as_str())
            .arg(ou.position.x().to_string())
            .arg(ou.position.y().to_string())
            .arg(t)
            .arg(joueur_id.to_string())
            .arg(DUREE_CACHE_S)
            .arg(credit.metres().to_string())
            .arg(depuis.map_or("", CodeZone::as_str))
            .invoke_async(&mut self.redis())
            .await?;
        if applique == 0 {
            tx.rollback().await?;
            self.oublier_chaudes(&[joueur_id]);
            return Err(ErreurApplication::Conflit);
        }
        tx.commit().await?;
        self.garder_chaude(
            joueur_id,
            PositionDatee {
                emplacement: ou.clone(),
                t,
                credit: Some(credit),
            },
        );
        Ok(())
    }

    /// Takes the caller's character through a portal of its zone to `vers`: it must stand at
    /// the portal and have its level (read from its sheet). Written to PostgreSQL before the
    /// answer (a zone change is never lost) and to Redis only if nobody moved the character
    /// since it was decided (else [`ErreurApplication::Conflit`], retryable, and PostgreSQL
    /// is left as it was); the character leaves the old zone's presence and joins the new one's.
    /// A retry after a lost answer (the character stands in `vers` at the portal's `arrivee`,
    /// its last zone change) answers the same instead of [`ErreurMonde::PasDePortail`].
    ///
    /// [`ErreurMonde::PasDePortail`]: domain::monde::ErreurMonde::PasDePortail
    pub async fn changer_zone(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
        vers: CodeZone,
    ) -> Result<Emplacement, ErreurApplication> {
        let fiche = fiche_possedee(&self.i.depot, compte, joueur_id).await?;
        let etat = self
            .position_datee(joueur_id)
            .await?
            .ok_or_else(|| introuvable_position(joueur_id))?;
        if etat.emplacement.zone == vers && self.deja_passe(joueur_id, &etat.emplacement).await? {
            // A retry whose first answer was lost: the character went through this portal
            // and has not moved since. PostgreSQL is written again, in case the first call
            // failed after Redis took the change.
            let mut connexion = self.i.pool.acquire().await?;
            changer_zone_en_base(&mut connexion, joueur_id, &etat.emplacement, etat.t).await?;
            return Ok(etat.emplacement);
        }
        let portail = decider_changement(
            &self.i.catalogue,
            &etat.emplacement.zone,
            etat.emplacement.position,
            &vers,
            fiche.niveau,
        )
        .map_err(ErreurApplication::monde)?;
        let arrivee = Emplacement {
            zone: vers,
            position: portail.arrivee,
        };
        let (t, ecoule) = horodater(etat.t);
        let regle = self.i.catalogue.deplacement();
        let credit = etat
            .credit
            .unwrap_or_else(|| Credit::plein(regle))
            .recharge(regle, ecoule);
        self.poser(
            joueur_id,
            Some(&etat),
            &arrivee,
            t,
            credit,
            Some(&etat.emplacement.zone),
        )
        .await?;
        Ok(arrivee)
    }

    /// Whether the character's last zone change brought it where it stands: it stands at the
    /// `arrivee` of a portal of the zone it came from leading to its zone.
    async fn deja_passe(
        &self,
        joueur_id: JoueurId,
        ici: &Emplacement,
    ) -> Result<bool, ErreurApplication> {
        let depuis: Option<String> = redis::cmd("HGET")
            .arg(self.cle_position(joueur_id))
            .arg("depuis")
            .query_async(&mut self.redis())
            .await?;
        let depuis = depuis.and_then(|d| CodeZone::parse(&d).ok());
        Ok(depuis
            .and_then(|d| self.i.catalogue.zone(&d))
            .is_some_and(|z| {
                z.portails
                    .iter()
                    .any(|p| p.vers == ici.zone && p.arrivee == ici.position)
            }))
    }
}

impl Monde {
    /// The position this instance wrote or read last for the character, if it keeps one.
    fn position_chaude(&self, joueur_id: JoueurId) -> Option<PositionDatee> {
        self.i.chaudes.lire(joueur_id)
    }

    fn garder_chaude(&self, joueur_id: JoueurId, etat: PositionDatee) {
        self.i.chaudes.garder([(joueur_id, etat)]);
    }

    /// Forgets these characters' hot positions (their player left this instance).
    pub(super) fn oublier_chaudes(&self, joueurs: &[JoueurId]) {
        self.i.chaudes.oublier(joueurs);
    }
}

/// The instant a change decided now from a position of instant `depuis` is written at,
/// strictly after it (the scripts tell changes apart by it), and the time elapsed since then on
/// this clock, which alone refills the budget: never the millisecond added to keep instants
/// apart, so steps faster than a millisecond earn nothing, and an instance whose clock lags
/// another's earns nothing until it has caught up.
fn horodater(depuis: i64) -> (i64, Duration) {
    let maintenant = maintenant_ms();
    let ecoule = Duration::from_millis(u64::try_from(maintenant - depuis).unwrap_or(0));
    (maintenant.max(depuis + 1), ecoule)
}

/// Reads a Redis hash's [`CHAMPS`] (or their first four): `zone, x, y, t` all present and
/// well-formed, else `None`; a missing or unreadable `credit` is a full budget.
pub(super) fn lire_position_datee(champs: &[Option<String>]) -> Option<PositionDatee> {
    let [Some(zone), Some(x), Some(y), Some(t), reste @ ..] = champs else {
        return None;
    };
    let credit = reste.first().and_then(Option::as_ref);
    Some(PositionDatee {
        emplacement: Emplacement {
            zone: CodeZone::parse(zone).ok()?,
            position: Position::parse(x.parse().ok()?, y.parse().ok()?).ok()?,
        },
        t: t.parse().ok()?,
        credit: credit.and_then(|c| c.parse().ok()).and_then(Credit::parse),
    })
}

/// Writes a zone change or a placement: the only writes that change a row's zone.
async fn changer_zone_en_base(
    tx: &mut sqlx::PgConnection,
    joueur_id: JoueurId,
    arrivee: &Emplacement,
    t: i64,
) -> Result<(), ErreurApplication> {
    sqlx::query(
        "INSERT INTO positions (joueur_id, zone, x, y, mis_a_jour) \
         VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0)) \
         ON CONFLICT (joueur_id) DO UPDATE \
         SET zone = EXCLUDED.zone, x = EXCLUDED.x, y = EXCLUDED.y, mis_a_jour = EXCLUDED.mis_a_jour",
    )
    .bind(joueur_id.uuid())
    .bind(arrivee.zone.as_str())
    .bind(arrivee.position.x())
    .bind(arrivee.position.y())
    .bind(t)
    .execute(tx)
    .await?;
    Ok(())
}
