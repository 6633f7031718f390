//! `--profil foule`: a crowd that plays like a real game.
//!
//! **One character per account, one socket per character** (the server pushes to every
//! socket of an account: five characters on an account would receive five times the
//! pushes). Account `<prefixe>-<a>` plays character `<prefixe><5a>` — the first character
//! `--profil melange` gives that account, so the two profiles reuse each other's accounts
//! and characters. The set-up costs one argon2 login per character.
//!
//! **Spread like a real game**: an admin account (`--admin`, by default `<prefixe>-mj`,
//! registered by the tool; promoted by `--mmo <binary>`, which runs `mmo admin promouvoir`
//! on `--base`, or beforehand by the operator) walks its own character through the zones to
//! read their sizes and starts from `monde.zone` ([`mise_en_place`]), then places every
//! character with `monde.placer`: each zone gets a share proportional to its area, of which
//! `--foyer-part` stands within `--foyer-rayon` m of the zone's start, the rest anywhere
//! ([`carte`]); `--zone` puts everyone in one zone.
//!
//! **Playing**: each character walks five steps a second at 90 % of the maximum speed,
//! bouncing off the zone's edges ([`marche`]); a refused step snaps it back to the position
//! the error carries. Every ~5 s it plays an action — combat, economy or trade, among what
//! its zone and party allow: parties of three are formed within each zone (its hotspot
//! first), and the tool's encounter and merchant stand in `plaine_verte` only, so elsewhere
//! a party only trades — every ~30 s a zone chat line, every ~10 s a read ([`promeneur`]).
//!
//! **Measured**, besides the common report: characters still held at the end, positions
//! and `monde.deplacements` messages received per socket and per second (counted without
//! parsing the pushes whole, [`lecture`]), server CPU and memory per character, and, on a
//! sample of sockets, their picture of their neighbours checked against `monde.proches`
//! ([`image`]).

mod carte;
mod image;
mod marche;
mod mise_en_place;
mod promeneur;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use futures_util::StreamExt as _;
use tokio::sync::oneshot;
use tokio::time::Instant;

use self::carte::{Foyer, Place, Zone};
use self::image::Controle;
use self::promeneur::{Depart, Rythme};
use crate::hasard::Hasard;
use crate::joueur::Flux;
use crate::partie::Partie;
use crate::preparation::{self, PERSONNAGES_PAR_COMPTE};
use crate::stats::{Methode, Stats};
use crate::{Contexte, Mesure, Options, serveur};

/// Where the tool's encounter (`meute_de_loups`) and merchant (`apothicaire_mirabelle`)
/// stand: combat and economy are played there only.
const ZONE_DES_ACTIONS: &str = "plaine_verte";
/// Admin sockets placing the characters side by side.
const PLACEURS: usize = 4;
/// Seconds between two random turns of a walker, on average.
const VIRAGE: f64 = 10.0;
/// How far inside the interest area (a cell and its eight neighbours) the checks' radius
/// stays: the cell's side less this, in metres.
const MARGE_AIRE: f64 = 10.0;

/// The options of `--profil foule`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Profil foule (--profil foule)")]
pub(crate) struct ReglagesFoule {
    /// The admin account that places the characters (`monde.placer`), with the tool's
    /// password: registered if missing. Default: `<prefixe>-mj`.
    #[arg(long)]
    admin: Option<String>,
    /// The server's `mmo` binary: promotes the admin account if it is not one yet (`mmo admin
    /// promouvoir`, on --base). Without it, promote it beforehand.
    #[arg(long)]
    mmo: Option<PathBuf>,
    /// Everyone in this zone (default: every zone, by area).
    #[arg(long)]
    zone: Option<String>,
    /// Share of each zone's characters in its hotspot, near its start (0 to 1).
    #[arg(long, default_value_t = 0.1)]
    foyer_part: f64,
    /// The hotspot's radius around the zone's start, metres.
    #[arg(long, default_value_t = 60.0)]
    foyer_rayon: f64,
    /// Steps per second of each character.
    #[arg(long, default_value_t = 5.0)]
    pas_par_seconde: f64,
    /// The walking pace, as a fraction of --vitesse-max (above 1, the server refuses steps).
    #[arg(long, default_value_t = 0.9)]
    allure: f64,
    /// The server's maximum speed, m/s (catalog, `[deplacement] vitesse_max`: no answer
    /// tells it).
    #[arg(long, default_value_t = 7.7)]
    vitesse_max: f64,
    /// Mean seconds between two game actions (combat, economy, trade) of a character; 0:
    /// none.
    #[arg(long, default_value_t = 5.0)]
    periode_action: f64,
    /// Mean seconds between two zone chat lines of a character; 0: none.
    #[arg(long, default_value_t = 30.0)]
    periode_chat: f64,
    /// Mean seconds between two reads (`joueur.profil`, `inventaire.consulter`); 0: none.
    #[arg(long, default_value_t = 10.0)]
    periode_lecture: f64,
    /// Sockets whose picture of their neighbours is kept and checked against
    /// `monde.proches`.
    #[arg(long, default_value_t = 50)]
    echantillon: usize,
    /// Mean seconds between two checks of a sampled socket; 0: none.
    #[arg(long, default_value_t = 5.0)]
    periode_controle: f64,
    /// The checks' radius, metres (kept inside the interest area: at most the interest
    /// cell's side less 10 m).
    #[arg(long, default_value_t = 40.0)]
    rayon_controle: f64,
}

fn periode(secondes: f64) -> Option<Duration> {
    (secondes > 0.0).then(|| Duration::from_secs_f64(secondes))
}

impl ReglagesFoule {
    pub(crate) fn valider(&self) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.foyer_part) {
            bail!("--foyer-part va de 0 à 1");
        }
        if !(self.foyer_rayon > 0.0 && self.foyer_rayon.is_finite()) {
            bail!("--foyer-rayon : des mètres, plus de 0");
        }
        if !(self.pas_par_seconde > 0.0 && self.pas_par_seconde <= 50.0) {
            bail!("--pas-par-seconde va de 0 (exclu) à 50");
        }
        if !(self.allure > 0.0 && self.allure <= 2.0) {
            bail!("--allure va de 0 (exclu) à 2");
        }
        if !(self.vitesse_max > 0.0 && self.vitesse_max <= 1_000.0) {
            bail!("--vitesse-max : des m/s, plus de 0");
        }
        for (nom, p) in [
            ("--periode-action", self.periode_action),
            ("--periode-chat", self.periode_chat),
            ("--periode-lecture", self.periode_lecture),
            ("--periode-controle", self.periode_controle),
        ] {
            if !(0.0..=3_600.0).contains(&p) {
                bail!("{nom} va de 0 (jamais) à 3600 s");
            }
        }
        if !(self.rayon_controle > 0.0 && self.rayon_controle <= 500.0) {
            bail!("--rayon-controle va de 0 (exclu) à 500 m");
        }
        Ok(())
    }

    /// The crowd's pace, for interest cells of `cellule` metres.
    fn rythme(&self, cellule: f64) -> Rythme {
        Rythme {
            pas: Duration::from_secs_f64(1.0 / self.pas_par_seconde),
            longueur: self.allure * self.vitesse_max / self.pas_par_seconde,
            pas_par_virage: VIRAGE * self.pas_par_seconde,
            action: periode(self.periode_action),
            chat: periode(self.periode_chat),
            lecture: periode(self.periode_lecture),
            controle: periode(self.periode_controle),
            rayon: self.rayon_controle.min(cellule - MARGE_AIRE).max(1.0),
            vitesse_max: self.vitesse_max,
        }
    }
}

/// Places every character where `places` says, [`PLACEURS`] admin sockets side by side.
async fn placer_tous(
    placeurs: &mut [Flux],
    ids: &[String],
    places: &[Place],
    zones: &[Zone],
) -> anyhow::Result<()> {
    let n = placeurs.len().max(1);
    let travaux = placeurs.iter_mut().enumerate().map(|(k, flux)| {
        let lot: Vec<(&str, &str, (f64, f64))> = (k..ids.len())
            .step_by(n)
            .map(|i| {
                (
                    ids[i].as_str(),
                    zones[places[i].zone].code.as_str(),
                    places[i].position,
                )
            })
            .collect();
        async move {
            for (id, zone, position) in lot {
                mise_en_place::placer(flux, id, zone, position).await?;
            }
            anyhow::Ok(())
        }
    });
    futures_util::future::try_join_all(travaux).await?;
    Ok(())
}

/// Parties of three within each zone, in the order of `places` (each zone's hotspot first);
/// the one or two left over in a zone play alone.
fn en_parties(places: &[Place], ids: &[String]) -> Vec<Option<(Arc<Mutex<Partie>>, usize)>> {
    let mut par_zone: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, p) in places.iter().enumerate() {
        par_zone.entry(p.zone).or_default().push(i);
    }
    let mut parties = vec![None; places.len()];
    for membres in par_zone.values() {
        for trio in membres.chunks_exact(3) {
            let partie = Arc::new(Mutex::new(Partie::new([
                ids[trio[0]].clone(),
                ids[trio[1]].clone(),
                ids[trio[2]].clone(),
            ])));
            for (m, &i) in trio.iter().enumerate() {
                parties[i] = Some((Arc::clone(&partie), m));
            }
        }
    }
    parties
}

/// The sockets sampled for the picture check: `k` of `n`, evenly through the placements
/// (so through the zones, hotspots and spread alike).
fn echantillonnes(n: usize, k: usize) -> Vec<bool> {
    let mut choisis = vec![false; n];
    let k = k.min(n);
    for j in 0..k {
        choisis[j * n / k] = true;
    }
    choisis
}

/// Mean, p50, p99 and max of `valeurs`.
fn repartition(mut valeurs: Vec<f64>) -> String {
    if valeurs.is_empty() {
        return "aucune socket".to_owned();
    }
    valeurs.sort_by(f64::total_cmp);
    let rang = |q: f64| valeurs[((valeurs.len() - 1) as f64 * q).round() as usize];
    format!(
        "moyenne {:.1}, p50 {:.1}, p99 {:.1}, max {:.1}",
        valeurs.iter().sum::<f64>() / valeurs.len() as f64,
        rang(0.5),
        rang(0.99),
        rang(1.0)
    )
}

/// The admin account's token, once its character has read every zone, and the zones, with the
/// side of an interest cell.
async fn preparer_admin(
    options: &Options,
    ctx: &Contexte,
) -> anyhow::Result<(String, Vec<Zone>, f64)> {
    let reglages = &options.foule;
    let t = Instant::now();
    let login = reglages
        .admin
        .clone()
        .unwrap_or_else(|| format!("{}-mj", options.prefixe));
    let admin = mise_en_place::administrateur(
        &ctx.http,
        &ctx.base,
        &login,
        reglages.mmo.as_deref(),
        &options.base,
    )
    .await?;
    let mut placeurs = ouvrir_placeurs(ctx, &admin.jeton, 1).await?;
    let sonde = mise_en_place::sonde(&mut placeurs[0], &format!("{}mj", options.prefixe)).await?;
    let (zones, cellule) =
        mise_en_place::decouvrir(&mut placeurs[0], &sonde, reglages.zone.as_deref()).await?;
    eprintln!(
        "administrateur « {login} », zones lues en {:.1?} : {}",
        t.elapsed(),
        zones
            .iter()
            .map(|z| format!(
                "{} {}×{} m, départ {:?}",
                z.code, z.largeur, z.hauteur, z.depart
            ))
            .collect::<Vec<_>>()
            .join(" ; ")
    );
    for mut p in placeurs {
        let _ = p.close(None).await;
    }
    Ok((admin.jeton, zones, cellule))
}

/// `nombre` sockets of the admin account. Opened when they are used: a socket left unread
/// while the players log in (minutes, for thousands) would miss the server's pings and be
/// closed.
async fn ouvrir_placeurs(ctx: &Contexte, jeton: &str, nombre: usize) -> anyhow::Result<Vec<Flux>> {
    let mut placeurs = Vec::with_capacity(nombre);
    for _ in 0..nombre {
        placeurs.push(
            preparation::ouvrir(ctx.cible, &ctx.hote_port, jeton, preparation::source(0)).await?,
        );
    }
    Ok(placeurs)
}

/// One socket per account, and its character's id (found or created), in account order.
async fn ouvrir_joueurs(
    options: &Options,
    ctx: &Contexte,
    comptes: Vec<preparation::Compte>,
) -> anyhow::Result<Vec<(usize, Flux, String)>> {
    let prefixe = options.prefixe.as_str();
    let mut joueurs = futures_util::stream::iter(comptes.into_iter().enumerate())
        .map(|(a, compte)| async move {
            let mut flux = preparation::ouvrir(
                ctx.cible,
                &ctx.hote_port,
                &compte.jeton,
                preparation::source(a),
            )
            .await?;
            let nom = format!("{prefixe}{}", a * PERSONNAGES_PAR_COMPTE);
            let id = preparation::un_personnage(&mut flux, &nom, preparation::classe(a)).await?;
            anyhow::Ok((a, flux, id))
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    joueurs.sort_by_key(|(a, ..)| *a);
    Ok(joueurs)
}

/// Runs the crowd and gives its report.
pub(crate) async fn courir(
    options: &Options,
    ctx: &Contexte,
    pool: Option<sqlx::PgPool>,
) -> anyhow::Result<String> {
    let reglages = &options.foule;
    let n = options.joueurs;
    // Before any login: the logins' argon2 memory (19 MiB each) goes back to the system only
    // seconds after the last one, and would hide what the sockets and characters cost.
    let rss_avant = ctx.pid.and_then(serveur::rss_kio);
    let (jeton_admin, zones, cellule) = preparer_admin(options, ctx).await?;
    let rythme = reglages.rythme(cellule);

    let t = Instant::now();
    let comptes =
        preparation::comptes(&ctx.http, &ctx.base, &options.prefixe, n, options.hachages).await?;
    eprintln!("{n} comptes connectés en {:.1?}", t.elapsed());

    let t = Instant::now();
    let joueurs = ouvrir_joueurs(options, ctx, comptes).await?;
    eprintln!(
        "{n} sockets ouvertes et personnages prêts en {:.1?}",
        t.elapsed()
    );

    // From now on each socket is read (and what it receives dropped) until the start: the
    // placements' pushes must not pile up in them.
    let commun = Arc::new(Mutex::new(Stats::default()));
    let mut ids = Vec::with_capacity(n);
    let mut departs = Vec::with_capacity(n);
    let mut taches = Vec::with_capacity(n);
    for (a, flux, id) in joueurs {
        let (envoi, reception) = oneshot::channel();
        ids.push(id.clone());
        departs.push(envoi);
        taches.push(tokio::spawn(promeneur::promener(
            flux,
            id,
            reception,
            rythme,
            Arc::clone(&commun),
            a as u64 * 7919 + 1,
        )));
    }

    let t = Instant::now();
    let foyer = Foyer {
        part: reglages.foyer_part,
        rayon: reglages.foyer_rayon,
    };
    let places = carte::repartir(n, &zones, foyer, &mut Hasard::new(0x00C0_FFEE));
    let mut placeurs = ouvrir_placeurs(ctx, &jeton_admin, PLACEURS).await?;
    placer_tous(&mut placeurs, &ids, &places, &zones).await?;
    for mut p in placeurs {
        let _ = p.close(None).await;
    }
    eprintln!("{n} personnages placés en {:.1?}", t.elapsed());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_apres = ctx.pid.and_then(serveur::rss_kio);

    let parties = en_parties(&places, &ids);
    let echantillon = echantillonnes(n, reglages.echantillon);
    let zones: Vec<Arc<Zone>> = zones.into_iter().map(Arc::new).collect();
    let debut = Instant::now() + Duration::from_secs(2);
    let fin = debut + Duration::from_secs(options.duree);
    for (i, (envoi, partie)) in departs.into_iter().zip(parties).enumerate() {
        let zone = Arc::clone(&zones[places[i].zone]);
        let _ = envoi.send(Depart {
            debut,
            fin,
            actions_ici: zone.code == ZONE_DES_ACTIONS,
            zone,
            position: places[i].position,
            partie,
            echantillon: echantillon[i],
        });
    }
    tokio::time::sleep_until(debut).await;
    let mesure = Mesure::commencer(&ctx.http, &ctx.base, pool, ctx.pid, (debut, fin)).await;
    let mut bilans = Vec::with_capacity(n);
    for t in taches {
        bilans.push(t.await.unwrap_or_default());
    }
    let stats = std::mem::take(
        &mut *commun
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let duree = fin.saturating_duration_since(debut);
    let bilan = mesure
        .terminer(&ctx.http, &ctx.base, ctx.pid, stats, duree, (n, 0))
        .await;

    let foule = Foule {
        zones: &zones,
        places: &places,
        bilans: &bilans,
        rythme,
        secondes: duree.as_secs_f64(),
    };
    let titre = foule.titre(options, &bilan);
    let mut texte = crate::rapport(
        &bilan, &titre, rss_avant, rss_apres, ctx.pid, &ctx.http, &ctx.base,
    )
    .await;
    texte.push_str(&foule.rapport(&bilan, rss_avant, ctx.pid));
    Ok(texte)
}

/// What the crowd's report adds.
struct Foule<'a> {
    zones: &'a [Arc<Zone>],
    places: &'a [Place],
    bilans: &'a [promeneur::Bilan],
    rythme: Rythme,
    secondes: f64,
}

impl Foule<'_> {
    /// What ran, how fast.
    fn titre(&self, options: &Options, bilan: &crate::Bilan) -> String {
        let r = &options.foule;
        format!(
            "Profil foule : {} personnages (un compte et une socket chacun) dans {} zone(s) pendant \
             {} s ; un pas de {:.2} m toutes les {:.0} ms ({:.2} m/s, {:.0} % de {} m/s) ; action \
             ~{} s, chat ~{} s, lecture ~{} s ; **{:.0} appels répondus/s** ({:.0} réussis/s).",
            self.bilans.len(),
            self.zones.len(),
            options.duree,
            self.rythme.longueur,
            self.rythme.pas.as_secs_f64() * 1000.0,
            self.rythme.longueur / self.rythme.pas.as_secs_f64(),
            r.allure * 100.0,
            r.vitesse_max,
            r.periode_action,
            r.periode_chat,
            r.periode_lecture,
            bilan.stats.repondus() as f64 / self.secondes,
            bilan.stats.reussis() as f64 / self.secondes,
        )
    }

    /// The sampled sockets' pictures, checked.
    fn controle(&self) -> String {
        let mut controle = Controle::default();
        let mut sondes = 0;
        let mut images = 0;
        for b in self.bilans.iter().filter(|b| b.echantillon) {
            sondes += 1;
            images += b.image;
            controle.ajouter(&b.controle);
        }
        format!(
            "- **contrôle des voisins** ({sondes} sockets échantillonnées ; `monde.proches` à {} m \
             comparé à l'image tenue par les poussées ; tolérance {} m/s × (0,3 s + aller-retour) \
             + 1 m) : {} contrôles, {} voisins nommés, **{} manquants**, **{} mal placés**, écart \
             max {:.2} m ; {:.1} voisins par image à la fin, en moyenne\n",
            self.rythme.rayon,
            self.rythme.vitesse_max,
            controle.appels,
            controle.voisins,
            controle.manquants,
            controle.mal_places,
            controle.ecart_max,
            images as f64 / f64::from(sondes.max(1))
        )
    }

    fn rapport(&self, bilan: &crate::Bilan, rss_avant: Option<u64>, pid: Option<u32>) -> String {
        let n = self.bilans.len();
        let mut t = String::from("\n### Foule\n\n");
        let repartis: Vec<String> = self
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let ici = self.places.iter().filter(|p| p.zone == i);
                let foyer = ici.clone().filter(|p| p.foyer).count();
                format!("{} {} ({foyer} au foyer)", z.code, ici.count())
            })
            .collect();
        let _ = writeln!(
            t,
            "- répartition : {} ; parties de trois dans chaque zone, combat et économie dans \
             `{ZONE_DES_ACTIONS}` seulement (la rencontre et le marchand de l'outil)",
            repartis.join(", ")
        );
        let tenus = self.bilans.iter().filter(|b| b.tenu).count();
        let _ = writeln!(
            t,
            "- **personnages tenus à la fin** (placés, socket ouverte, un pas accepté dans les 2 \
             dernières secondes) : **{tenus} / {n}**"
        );
        if let Some(pas) = bilan.stats.methodes.get(&Methode::Deplacer) {
            let refus: Vec<(&String, &u64)> = pas
                .erreurs
                .iter()
                .filter(|(c, _)| c.as_str() != "SANS_REPONSE")
                .collect();
            let codes: Vec<String> = refus.iter().map(|(c, n)| format!(" {c} {n}")).collect();
            let _ = writeln!(
                t,
                "- pas : {} répondus, **{} refusés**{}, chacun ramené à la position du serveur",
                pas.latences.len(),
                refus.iter().map(|(_, n)| **n).sum::<u64>(),
                codes.join(",")
            );
        }
        let par_seconde = |f: fn(&promeneur::Bilan) -> u64| -> Vec<f64> {
            self.bilans
                .iter()
                .map(|b| f(b) as f64 / self.secondes)
                .collect()
        };
        let positions = par_seconde(|b| b.positions);
        let total: f64 = positions.iter().sum();
        let _ = writeln!(
            t,
            "- **positions reçues par socket et par seconde** : {} ; {total:.0}/s en tout",
            repartition(positions)
        );
        let _ = writeln!(
            t,
            "- messages `monde.deplacements` par socket et par seconde : {}",
            repartition(par_seconde(|b| b.lots))
        );
        t.push_str(&self.controle());
        let hz = crate::serie::TICKS_PAR_SECONDE;
        let n = n.max(1) as f64;
        if let Some(ticks) = bilan.cpu.serveur {
            let _ = writeln!(
                t,
                "- CPU du serveur par personnage : {:.2} ms par seconde",
                ticks as f64 / hz / self.secondes / n * 1000.0
            );
        }
        if let (Some(pid), Some(avant)) = (pid, rss_avant)
            && let Some(fin) = serveur::rss_kio(pid)
        {
            let _ = writeln!(
                t,
                "- mémoire du serveur par personnage (fin − avant toute connexion) : {:.1} Kio",
                fin.saturating_sub(avant) as f64 / n
            );
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(zone: usize) -> Place {
        Place {
            zone,
            position: (1.0, 1.0),
            foyer: false,
        }
    }

    #[test]
    fn les_parties_se_forment_par_trois_dans_chaque_zone() {
        let places = [0, 1, 0, 0, 1, 1, 0, 1].map(place);
        let ids: Vec<String> = (0..places.len()).map(|i| i.to_string()).collect();
        let parties = en_parties(&places, &ids);
        let rang = |i: usize| parties[i].as_ref().map(|(_, m)| *m);
        // Zone 0: 0, 2, 3 then 6 alone; zone 1: 1, 4, 5 then 7 alone.
        assert_eq!(
            (0..8).map(rang).collect::<Vec<_>>(),
            [
                Some(0),
                Some(0),
                Some(1),
                Some(2),
                Some(1),
                Some(2),
                None,
                None
            ]
        );
        let (p0, _) = parties[0].as_ref().expect("partie");
        let (p3, _) = parties[3].as_ref().expect("partie");
        assert!(Arc::ptr_eq(p0, p3));
        let (p1, _) = parties[1].as_ref().expect("partie");
        assert!(!Arc::ptr_eq(p0, p1));
    }

    #[test]
    fn l_echantillon_se_prend_de_loin_en_loin() {
        let e = echantillonnes(10, 3);
        assert_eq!(e.iter().filter(|x| **x).count(), 3);
        assert!(e[0] && e[3] && e[6]);
        assert!(echantillonnes(2, 50).iter().all(|x| *x));
        assert!(echantillonnes(5, 0).iter().all(|x| !*x));
    }

    #[test]
    fn la_repartition_sur_les_sockets_donne_moyenne_et_centiles() {
        let r = repartition((1..=100).map(f64::from).collect());
        assert_eq!(r, "moyenne 50.5, p50 51.0, p99 99.0, max 100.0");
        assert_eq!(repartition(Vec::new()), "aucune socket");
    }

    #[test]
    fn le_rayon_du_controle_reste_dans_l_aire_d_interet() {
        use clap::Parser as _;
        let o = Options::try_parse_from(["charge", "--profil", "foule", "--rayon-controle", "45"])
            .expect("options");
        o.valider().expect("valides");
        let r = o.foule.rythme(50.0);
        assert!((r.rayon - 40.0).abs() < 1e-9);
        assert!((r.longueur - 0.9 * 7.7 / 5.0).abs() < 1e-9);
        assert_eq!(r.pas, Duration::from_millis(200));
        assert!(
            Options::try_parse_from(["charge", "--profil", "foule", "--foyer-part", "2"])
                .expect("options")
                .valider()
                .is_err()
        );
    }
}
