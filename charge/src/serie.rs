//! The run as a time series: per 10-second window of the schedule, the calls answered (by
//! their intended send time), their latency, the worst projection's lag and the server's CPU.
//! A 15-second run hides what a 30-minute one shows (periodic stalls: checkpoints, vacuum,
//! pool waits); the series shows when, and the report compares the worst window's p99 with
//! the run's.
//!
//! One run per process, and every player task records into it: the series is a process-wide
//! value, started by [`commencer`] at the schedule's start. Until then (while characters are
//! prepared) nothing is recorded.

use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

/// The width of a window.
pub(crate) const LARGEUR: Duration = Duration::from_secs(10);
/// Windows kept at most (a schedule is at most 600 s; answers may come late).
const MAX_FENETRES: usize = 128;
/// Clock ticks per second of `/proc/<pid>/stat` (`CLK_TCK`, 100 on Linux).
pub(crate) const TICKS_PAR_SECONDE: f64 = 100.0;

static SERIE: OnceLock<Serie> = OnceLock::new();

/// What one window measured.
struct Fenetre {
    /// Latency of the calls intended in it, µs.
    latences: Histogram<u64>,
    /// Of those, answered with an error.
    erreurs: u64,
    /// The worst projection's lag at each sample taken in it, ms.
    retards: Histogram<u64>,
    /// The server's CPU ticks between the samples taken in it, and the time they cover.
    cpu: Option<(u64, Duration)>,
}

impl Fenetre {
    fn new() -> Self {
        Self {
            latences: Histogram::new_with_bounds(1, 120_000_000, 2).expect("bornes valides"),
            erreurs: 0,
            retards: Histogram::new_with_bounds(1, 3_600_000, 2).expect("bornes valides"),
            cpu: None,
        }
    }
}

/// The series of a run.
pub(crate) struct Serie {
    origine: Instant,
    fenetres: Mutex<Vec<Fenetre>>,
}

/// Starts the series at `debut`, the schedule's first instant (once per process; later calls
/// change nothing).
pub(crate) fn commencer(debut: Instant) {
    let _ = SERIE.set(Serie::new(debut));
}

/// The series, once started.
pub(crate) fn serie() -> Option<&'static Serie> {
    SERIE.get()
}

/// The run's series in Markdown (nothing if no schedule started).
pub(crate) fn tableau() -> String {
    serie().map(Serie::tableau).unwrap_or_default()
}

impl Serie {
    fn new(origine: Instant) -> Self {
        Self {
            origine,
            fenetres: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on the window `quand` falls in (the first one for an instant before the
    /// start; nothing past the last kept window).
    fn dans(&self, quand: Instant, f: impl FnOnce(&mut Fenetre)) {
        let rang = quand.saturating_duration_since(self.origine).as_secs() / LARGEUR.as_secs();
        let Ok(rang) = usize::try_from(rang) else {
            return;
        };
        if rang >= MAX_FENETRES {
            return;
        }
        let mut fenetres = self.fenetres.lock().unwrap_or_else(PoisonError::into_inner);
        while fenetres.len() <= rang {
            fenetres.push(Fenetre::new());
        }
        f(&mut fenetres[rang]);
    }

    /// A call answered `latence` after its intended send time, which gives its window.
    pub(crate) fn reponse(&self, latence: Duration, erreur: bool) {
        let now = Instant::now();
        let prevu = now.checked_sub(latence).unwrap_or(now);
        let micros = u64::try_from(latence.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.dans(prevu, |f| {
            f.latences.saturating_record(micros);
            f.erreurs += u64::from(erreur);
        });
    }

    /// The worst projection's lag, sampled now.
    pub(crate) fn retard(&self, ms: u64) {
        self.dans(Instant::now(), |f| f.retards.saturating_record(ms.max(1)));
    }

    /// The server used `ticks` of CPU over the `duree` that ends now.
    pub(crate) fn cpu(&self, ticks: u64, duree: Duration) {
        self.dans(Instant::now(), |f| {
            let (t, d) = f.cpu.get_or_insert((0, Duration::ZERO));
            *t += ticks;
            *d += duree;
        });
    }

    /// The series in Markdown: a row per window, then the worst window's p99 against the
    /// run's.
    fn tableau(&self) -> String {
        let fenetres = self.fenetres.lock().unwrap_or_else(PoisonError::into_inner);
        let mut texte = format!(
            "\n### Série par fenêtre de {} s (appels par instant d'envoi prévu)\n\n\
             | de (s) | appels | erreurs | p50 | p99 | max | retard des projections p99 (ms) | CPU du serveur (% d'un cœur) |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|\n",
            LARGEUR.as_secs()
        );
        let mut tout = Fenetre::new();
        let mut pire: Option<(usize, u64)> = None;
        for (rang, f) in fenetres.iter().enumerate() {
            let _ = tout.latences.add(&f.latences);
            let p99 = (!f.latences.is_empty()).then(|| f.latences.value_at_quantile(0.99));
            if let Some(p) = p99
                && pire.is_none_or(|(_, q)| p > q)
            {
                pire = Some((rang, p));
            }
            let ms = |h: &Histogram<u64>, q: f64| {
                if h.is_empty() {
                    "—".to_owned()
                } else {
                    format!("{:.1}", h.value_at_quantile(q) as f64 / 1000.0)
                }
            };
            let retard = if f.retards.is_empty() {
                "—".to_owned()
            } else {
                f.retards.value_at_quantile(0.99).to_string()
            };
            let cpu = f.cpu.filter(|(_, d)| !d.is_zero()).map_or_else(
                || "—".to_owned(),
                |(t, d)| {
                    format!(
                        "{:.0}",
                        t as f64 / TICKS_PAR_SECONDE / d.as_secs_f64() * 100.0
                    )
                },
            );
            let max = if f.latences.is_empty() {
                "—".to_owned()
            } else {
                format!("{:.1}", f.latences.max() as f64 / 1000.0)
            };
            let _ = writeln!(
                texte,
                "| {} | {} | {} | {} ms | {} ms | {max} ms | {retard} | {cpu} |",
                rang as u64 * LARGEUR.as_secs(),
                f.latences.len(),
                f.erreurs,
                ms(&f.latences, 0.5),
                ms(&f.latences, 0.99),
            );
        }
        if let Some((rang, p)) = pire
            && !tout.latences.is_empty()
        {
            let course = tout.latences.value_at_quantile(0.99).max(1);
            let _ = writeln!(
                texte,
                "\nPire fenêtre : p99 {:.1} ms à {} s, **{:.2} × le p99 de la course** ({:.1} ms).",
                p as f64 / 1000.0,
                rang as u64 * LARGEUR.as_secs(),
                p as f64 / course as f64,
                course as f64 / 1000.0
            );
        }
        texte
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn chaque_appel_compte_dans_la_fenetre_de_son_envoi_prevu() {
        let serie = Serie::new(Instant::now());
        tokio::time::advance(Duration::from_secs(12)).await;
        // Sent (intended) at 9 s, answered at 12 s: the first window's.
        serie.reponse(Duration::from_secs(3), false);
        serie.reponse(Duration::from_millis(2), true);
        serie.retard(40);
        serie.cpu(50, Duration::from_secs(1));
        let fenetres = serie.fenetres.lock().expect("verrou");
        assert_eq!(fenetres.len(), 2);
        assert_eq!(fenetres[0].latences.len(), 1);
        assert_eq!(fenetres[0].erreurs, 0);
        assert_eq!(fenetres[1].latences.len(), 1);
        assert_eq!(fenetres[1].erreurs, 1);
        assert_eq!(fenetres[1].retards.len(), 1);
        assert_eq!(fenetres[1].cpu, Some((50, Duration::from_secs(1))));
        drop(fenetres);
        let t = serie.tableau();
        assert!(t.contains("| 0 | 1 | 0 |"), "{t}");
        assert!(t.contains("| 10 | 1 | 1 |"), "{t}");
        // 50 ticks over 1 s: half a core.
        assert!(t.contains("| 40 | 50 |"), "{t}");
        assert!(t.contains("Pire fenêtre : p99 3"), "{t}");
    }

    #[tokio::test(start_paused = true)]
    async fn rien_n_est_garde_au_dela_de_la_derniere_fenetre() {
        let serie = Serie::new(Instant::now());
        tokio::time::advance(LARGEUR * (MAX_FENETRES as u32 + 1)).await;
        serie.reponse(Duration::from_millis(1), false);
        assert!(serie.fenetres.lock().expect("verrou").is_empty());
    }
}
