//! What one run measured: per method a latency histogram (from the intended send time, so a
//! slow server cannot hide its queue), the outcomes by `data.code`, the pushes received, and
//! how late the client itself sent (if that grows, the client is the bottleneck, not the
//! server). Each player task keeps its own [`Stats`]; they are merged once at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Every method the tool sends, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Methode {
    /// `monde.deplacer`
    Deplacer,
    /// `monde.zone`
    Zone,
    /// `monde.proches`
    Proches,
    /// `chat.envoyer`
    Chat,
    /// `combat.demarrer`
    CombatDemarrer,
    /// `combat.rejoindre`
    CombatRejoindre,
    /// `combat.lancer`
    CombatLancer,
    /// `combat.agir`
    CombatAgir,
    /// `inventaire.acheter`
    Acheter,
    /// `inventaire.fabriquer`
    Fabriquer,
    /// `inventaire.vendre`
    Vendre,
    /// `echange.proposer`
    EchangeProposer,
    /// `echange.accepter`
    EchangeAccepter,
    /// `joueur.profil`
    Profil,
    /// `inventaire.consulter`
    Consulter,
}

impl Methode {
    /// Its name on the wire.
    pub(crate) const fn nom(self) -> &'static str {
        match self {
            Self::Deplacer => "monde.deplacer",
            Self::Zone => "monde.zone",
            Self::Proches => "monde.proches",
            Self::Chat => "chat.envoyer",
            Self::CombatDemarrer => "combat.demarrer",
            Self::CombatRejoindre => "combat.rejoindre",
            Self::CombatLancer => "combat.lancer",
            Self::CombatAgir => "combat.agir",
            Self::Acheter => "inventaire.acheter",
            Self::Fabriquer => "inventaire.fabriquer",
            Self::Vendre => "inventaire.vendre",
            Self::EchangeProposer => "echange.proposer",
            Self::EchangeAccepter => "echange.accepter",
            Self::Profil => "joueur.profil",
            Self::Consulter => "inventaire.consulter",
        }
    }
}

fn histogramme() -> Histogram<u64> {
    // Microseconds, 1 µs to 2 min, 2 significant digits (1 %): ~25 KiB each. Three digits
    // would cost ~170 KiB per histogram, gigabytes over 10,000 players' tasks.
    Histogram::new_with_bounds(1, 120_000_000, 2).expect("bornes d'histogramme valides")
}

/// One method's figures.
#[derive(Debug, Clone)]
pub(crate) struct ParMethode {
    /// Latency of answered calls, µs, from the intended send time.
    pub(crate) latences: Histogram<u64>,
    /// Successful answers.
    pub(crate) ok: u64,
    /// Errors by `data.code` (`SANS_REPONSE` when none came before the end).
    pub(crate) erreurs: BTreeMap<String, u64>,
}

impl Default for ParMethode {
    fn default() -> Self {
        Self {
            latences: histogramme(),
            ok: 0,
            erreurs: BTreeMap::new(),
        }
    }
}

/// A player task's figures, merged at the end.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    /// Per method, made on its first call (an idle socket's stats stay empty and small).
    pub(crate) methodes: BTreeMap<Methode, ParMethode>,
    /// How late the client sent each call after its intended time, µs (made on the first).
    pub(crate) retard_envoi: Option<Histogram<u64>>,
    /// Pushes received, by method (`monde.deplacement`, `chat.message`, `evenement`).
    pub(crate) pousses: BTreeMap<String, u64>,
    /// Ticks whose action could not be sent as drawn (a combat step waiting for an answer,
    /// the chat limit...) and were sent as a read instead, by drawn kind.
    pub(crate) substitutions: BTreeMap<&'static str, u64>,
    /// Sockets the server closed, by close code.
    pub(crate) fermetures: BTreeMap<u16, u64>,
    /// When buffered ([`Stats::tamponnee`]): what was measured since the last
    /// [`Stats::vider_dans`], instead of histograms.
    tampon: Option<Vec<Releve>>,
}

/// One measure, kept until it is recorded into shared figures.
#[derive(Debug, Clone)]
enum Releve {
    Reponse(Methode, Duration, Option<String>),
    SansReponse(Methode),
    Envoi(Duration),
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl Stats {
    /// Figures that keep their measures in a short list instead of histograms, until
    /// [`Stats::vider_dans`] records them into shared ones: a player's histograms weigh
    /// ~25 KiB per method, too much for thousands of players each calling a dozen methods.
    pub(crate) fn tamponnee() -> Self {
        Self {
            tampon: Some(Vec::new()),
            ..Self::default()
        }
    }

    /// Records what this buffered figures hold into `commun`, and empties them.
    pub(crate) fn vider_dans(&mut self, commun: &mut Self) {
        for releve in self.tampon.iter_mut().flat_map(|t| t.drain(..)) {
            match releve {
                Releve::Reponse(m, latence, code) => {
                    commun.enregistrer(m, latence, code.as_deref());
                }
                Releve::SansReponse(m) => commun.sans_reponse(m),
                Releve::Envoi(retard) => commun.envoi(retard),
            }
        }
        let reste = Self {
            tampon: None,
            methodes: std::mem::take(&mut self.methodes),
            retard_envoi: self.retard_envoi.take(),
            pousses: std::mem::take(&mut self.pousses),
            substitutions: std::mem::take(&mut self.substitutions),
            fermetures: std::mem::take(&mut self.fermetures),
        };
        commun.fusionner(&reste);
    }

    /// `n` more pushes counted under `cle` (a method, or [`crate::joueur::POSITIONS_RECUES`]).
    pub(crate) fn pousses(&mut self, cle: &str, n: u64) {
        match self.pousses.get_mut(cle) {
            Some(total) => *total += n,
            None => {
                self.pousses.insert(cle.to_owned(), n);
            }
        }
    }

    /// An answered call (also counted in the run's series, [`crate::serie`], once started).
    pub(crate) fn reponse(&mut self, m: Methode, latence: Duration, erreur: Option<&str>) {
        if let Some(serie) = crate::serie::serie() {
            serie.reponse(latence, erreur.is_some());
        }
        self.enregistrer(m, latence, erreur);
    }

    /// An answered call, into these figures alone.
    fn enregistrer(&mut self, m: Methode, latence: Duration, erreur: Option<&str>) {
        if let Some(t) = &mut self.tampon {
            t.push(Releve::Reponse(m, latence, erreur.map(str::to_owned)));
            return;
        }
        let pm = self.methodes.entry(m).or_default();
        pm.latences.saturating_record(micros(latence));
        match erreur {
            None => pm.ok += 1,
            Some(code) => *pm.erreurs.entry(code.to_owned()).or_default() += 1,
        }
    }

    /// A call that got no answer before the end of the run.
    pub(crate) fn sans_reponse(&mut self, m: Methode) {
        if let Some(t) = &mut self.tampon {
            t.push(Releve::SansReponse(m));
            return;
        }
        *self
            .methodes
            .entry(m)
            .or_default()
            .erreurs
            .entry("SANS_REPONSE".to_owned())
            .or_default() += 1;
    }

    /// A call sent `retard` after its intended time.
    pub(crate) fn envoi(&mut self, retard: Duration) {
        if let Some(t) = &mut self.tampon {
            t.push(Releve::Envoi(retard));
            return;
        }
        self.retard_envoi
            .get_or_insert_with(histogramme)
            .saturating_record(micros(retard));
    }

    /// Adds `autre` into this one.
    pub(crate) fn fusionner(&mut self, autre: &Self) {
        for (m, b) in &autre.methodes {
            let a = self.methodes.entry(*m).or_default();
            a.latences.add(&b.latences).expect("mêmes bornes");
            a.ok += b.ok;
            for (code, n) in &b.erreurs {
                *a.erreurs.entry(code.clone()).or_default() += n;
            }
        }
        if let Some(h) = &autre.retard_envoi {
            self.retard_envoi
                .get_or_insert_with(histogramme)
                .add(h)
                .expect("mêmes bornes");
        }
        for (k, n) in &autre.pousses {
            *self.pousses.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &autre.substitutions {
            *self.substitutions.entry(k).or_default() += n;
        }
        for (k, n) in &autre.fermetures {
            *self.fermetures.entry(*k).or_default() += n;
        }
    }

    /// Calls answered (successes and errors).
    pub(crate) fn repondus(&self) -> u64 {
        self.methodes.values().map(|m| m.latences.len()).sum()
    }

    /// Calls answered with a success.
    pub(crate) fn reussis(&self) -> u64 {
        self.methodes.values().map(|m| m.ok).sum()
    }

    /// The per-method table, in Markdown, over a run of `duree`.
    pub(crate) fn tableau(&self, duree: Duration) -> String {
        let s = duree.as_secs_f64().max(1e-9);
        let mut t = String::from(
            "| méthode | appels | ok | débit (/s) | p50 | p99 | p99.9 | max | erreurs |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---|\n",
        );
        let mut total = ParMethode::default();
        for (m, pm) in &self.methodes {
            let sans = pm.erreurs.get("SANS_REPONSE").copied().unwrap_or(0);
            if pm.latences.is_empty() && sans == 0 {
                continue;
            }
            total.latences.add(&pm.latences).expect("mêmes bornes");
            total.ok += pm.ok;
            for (c, n) in &pm.erreurs {
                *total.erreurs.entry(c.clone()).or_default() += n;
            }
            ligne(&mut t, m.nom(), pm, s);
        }
        ligne(&mut t, "**total**", &total, s);
        t
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> String {
    if h.is_empty() {
        return "—".to_owned();
    }
    format!("{:.2} ms", h.value_at_quantile(q) as f64 / 1000.0)
}

fn ligne(t: &mut String, nom: &str, pm: &ParMethode, secondes: f64) {
    let appels = pm.latences.len() + pm.erreurs.get("SANS_REPONSE").copied().unwrap_or(0);
    let erreurs = pm
        .erreurs
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let max = if pm.latences.is_empty() {
        "—".to_owned()
    } else {
        format!("{:.2} ms", pm.latences.max() as f64 / 1000.0)
    };
    let _ = writeln!(
        t,
        "| {nom} | {appels} | {} | {:.0} | {} | {} | {} | {max} | {} |",
        pm.ok,
        pm.latences.len() as f64 / secondes,
        ms(&pm.latences, 0.5),
        ms(&pm.latences, 0.99),
        ms(&pm.latences, 0.999),
        if erreurs.is_empty() { "—" } else { &erreurs },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deux_stats_fusionnees_additionnent_appels_erreurs_et_pousses() {
        let mut a = Stats::default();
        a.reponse(Methode::Deplacer, Duration::from_millis(2), None);
        a.reponse(
            Methode::Chat,
            Duration::from_millis(3),
            Some("TROP_DE_MESSAGES"),
        );
        *a.pousses.entry("chat.message".into()).or_default() += 4;
        let mut b = Stats::default();
        b.reponse(Methode::Deplacer, Duration::from_millis(5), None);
        b.sans_reponse(Methode::Chat);
        *b.pousses.entry("chat.message".into()).or_default() += 1;
        a.fusionner(&b);
        assert_eq!(a.repondus(), 3);
        assert_eq!(a.methodes[&Methode::Deplacer].ok, 2);
        assert_eq!(a.methodes[&Methode::Chat].erreurs.len(), 2);
        assert_eq!(a.pousses["chat.message"], 5);
        let t = a.tableau(Duration::from_secs(1));
        assert!(t.contains("| monde.deplacer | 2 | 2 | 2 |"), "{t}");
        assert!(t.contains("SANS_REPONSE 1"), "{t}");
    }

    #[test]
    fn des_stats_tamponnees_se_vident_dans_les_communes_sans_rien_perdre() {
        let mut commun = Stats::default();
        let mut joueur = Stats::tamponnee();
        joueur.reponse(Methode::Deplacer, Duration::from_millis(2), None);
        joueur.reponse(
            Methode::Deplacer,
            Duration::from_millis(4),
            Some("TROP_RAPIDE"),
        );
        joueur.sans_reponse(Methode::Proches);
        joueur.envoi(Duration::from_micros(30));
        joueur.pousses("monde.deplacements", 3);
        assert!(joueur.methodes.is_empty(), "pas d'histogramme par joueur");
        joueur.vider_dans(&mut commun);
        joueur.reponse(Methode::Zone, Duration::from_millis(1), None);
        joueur.vider_dans(&mut commun);
        assert_eq!(commun.methodes[&Methode::Deplacer].ok, 1);
        assert_eq!(
            commun.methodes[&Methode::Deplacer].erreurs["TROP_RAPIDE"],
            1
        );
        assert_eq!(
            commun.methodes[&Methode::Proches].erreurs["SANS_REPONSE"],
            1
        );
        assert_eq!(commun.repondus(), 3);
        assert_eq!(commun.pousses["monde.deplacements"], 3);
        assert_eq!(commun.retard_envoi.as_ref().map(Histogram::len), Some(1));
        assert!(joueur.pousses.is_empty());
    }
}
