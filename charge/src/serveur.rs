//! What the tool reads of the server under load besides its answers: that it is on loopback
//! (the tool refuses anything else), its resident memory (`/proc/<pid>/status`), the readers'
//! lag straight from the event store (projections and the bus relay, age of the oldest event
//! each has not applied yet), and a few counters of `/metrics`.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::time::Instant;

/// Checks that `url` (`http://host:port`) names a loopback address; returns `host:port`.
pub(crate) fn boucle_locale(url: &str) -> anyhow::Result<String> {
    let reste = url
        .strip_prefix("http://")
        .context("la cible doit être une URL http://")?;
    let hote_port = reste.trim_end_matches('/');
    let hote = hote_port
        .rsplit_once(':')
        .map_or(hote_port, |(h, _)| h)
        .trim_matches(['[', ']']);
    let locale = hote == "localhost" || hote.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !locale {
        bail!("cible refusée : {hote} n'est pas une adresse de boucle locale (127.0.0.0/8, ::1)");
    }
    Ok(hote_port.to_owned())
}

/// The pid of the process whose command name is `mmo`, if exactly one runs.
pub(crate) fn trouver_mmo() -> Option<u32> {
    let mut trouves = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "mmo")
        });
    let premier = trouves.next()?;
    trouves.next().is_none().then_some(premier)
}

/// Resident memory of `pid`, in KiB (`VmRSS`).
pub(crate) fn rss_kio(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU time (user + system) of `pid` so far, from `/proc/<pid>/stat`, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields count from after its closing parenthesis.
    let apres = stat.rsplit_once(')')?.1;
    let champs: Vec<&str> = apres.split_whitespace().collect();
    let utime: u64 = champs.get(11)?.parse().ok()?;
    let stime: u64 = champs.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The lag samples of every reader of the store, taken every `periode` until `fin` says stop.
#[derive(Debug)]
pub(crate) struct Retards {
    /// Worst projection's lag at each sample, ms.
    pub(crate) projections: Histogram<u64>,
    /// The bus relay's lag at each sample, ms.
    pub(crate) relais: Histogram<u64>,
    /// The `/metrics` gauge `mmo_projection_retard_millisecondes` (worst projection), ms.
    pub(crate) jauge: Histogram<u64>,
}

fn histo() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000, 3).expect("bornes valides")
}

/// Samples the readers' lag (in the store, and the `/metrics` gauge) until `fin` flips; also
/// into the run's series ([`crate::serie`]), with the CPU the server (`pid`) used between
/// two samples.
pub(crate) async fn echantillonner(
    pool: Option<PgPool>,
    http: reqwest::Client,
    base: String,
    (periode, pid): (Duration, Option<u32>),
    mut fin: watch::Receiver<bool>,
) -> Retards {
    let mut r = Retards {
        projections: histo(),
        relais: histo(),
        jauge: histo(),
    };
    let mut tic = tokio::time::interval(periode);
    let mut cpu_avant = pid.and_then(cpu_ticks).map(|t| (t, Instant::now()));
    loop {
        tokio::select! {
            _ = tic.tick() => {}
            _ = fin.changed() => break,
        }
        let serie = crate::serie::serie();
        if let Some(serie) = serie
            && let Some((avant, quand)) = cpu_avant
            && let Some(t) = pid.and_then(cpu_ticks)
        {
            serie.cpu(t.saturating_sub(avant), quand.elapsed());
            cpu_avant = Some((t, Instant::now()));
        }
        if let Some(pool) = &pool
            && let Ok(lignes) = retards_en_base(pool).await
        {
            let pire = lignes
                .iter()
                .filter(|(l, _)| l != "relais")
                .map(|(_, ms)| *ms)
                .max()
                .unwrap_or(0);
            r.projections.saturating_record(pire.max(1));
            if let Some(serie) = serie {
                serie.retard(pire);
            }
            if let Some((_, ms)) = lignes.iter().find(|(l, _)| l == "relais") {
                r.relais.saturating_record((*ms).max(1));
            }
        }
        if let Ok(texte) = metriques(&http, &base).await {
            let pire = valeurs(&texte, "mmo_projection_retard_millisecondes{")
                .into_iter()
                .fold(0.0_f64, f64::max);
            r.jauge.saturating_record((pire as u64).max(1));
        }
    }
    r
}

/// Each reader's lag in ms: the age of the oldest event after its checkpoint (0 when none).
async fn retards_en_base(pool: &PgPool) -> Result<Vec<(String, u64)>, sqlx::Error> {
    let lignes: Vec<(String, Option<f64>)> = sqlx::query_as(
        "SELECT p.lecteur, (EXTRACT(EPOCH FROM now() - (SELECT min(e.recorded_at) FROM events e \
            WHERE (e.transaction_id, e.global_position) > (p.transaction_id, p.global_position))) \
            * 1000)::float8 \
         FROM points_de_reprise p",
    )
    .fetch_all(pool)
    .await?;
    Ok(lignes
        .into_iter()
        .map(|(l, ms)| (l, ms.map_or(0, |v| v.max(0.0) as u64)))
        .collect())
}

/// The text of `/metrics`.
pub(crate) async fn metriques(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    Ok(http
        .get(format!("{base}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await?
        .text()
        .await?)
}

/// The values of every sample whose line starts with `prefixe` (a metric name, with `{` when
/// it has labels).
pub(crate) fn valeurs(texte: &str, prefixe: &str) -> Vec<f64> {
    texte
        .lines()
        .filter(|l| l.starts_with(prefixe))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seule_une_cible_en_boucle_locale_est_admise() {
        assert_eq!(
            boucle_locale("http://127.0.0.1:8080").expect("locale"),
            "127.0.0.1:8080"
        );
        assert!(boucle_locale("http://127.3.0.1:18090/").is_ok());
        assert!(boucle_locale("http://localhost:8080").is_ok());
        assert!(boucle_locale("http://[::1]:8080").is_ok());
        assert!(boucle_locale("http://10.0.0.1:8080").is_err());
        assert!(boucle_locale("http://exemple.fr:8080").is_err());
        assert!(boucle_locale("https://127.0.0.1:8080").is_err());
    }

    #[test]
    fn les_valeurs_d_une_metrique_se_lisent_par_prefixe() {
        let texte = "# HELP x\nmmo_projection_retard_millisecondes{projection=\"joueurs\"} 12\n\
                     mmo_projection_retard_millisecondes{projection=\"quetes\"} 40\nautre 3\n";
        assert_eq!(
            valeurs(texte, "mmo_projection_retard_millisecondes{"),
            vec![12.0, 40.0]
        );
    }
}
