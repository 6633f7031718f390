//! `/metrics`: JSON-RPC calls by method and outcome with their latency, open sockets and
//! closed ones by reason, whether each engine answers, and at each scrape the write side's
//! counters (conflicts, retries answered from a previous application, give-ups), the
//! projections' lag, the pushes dropped for slow sockets, and the bus (events relayed and the
//! relay's lag, reactions handled or failed, rounds ended by their deadline). In
//! OpenMetrics, or in the classic Prometheus text format (0.0.4) for a scraper that asks for
//! it ([`Format::negocier`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use commands::bus::reactions::RapportReactions;
use commands::bus::relais::RapportRelais;
use commands::depot::Compteurs;
use magasin::partage::CompteursPartage;
use projections::Projection;
use projections::travailleur::RapportTravailleur;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::sockets::Sockets;

type Etiquettes = Vec<(&'static str, String)>;

/// Why the server's sockets close, as `mmo_websockets_fermees` labels them: every one is
/// exposed from the start (at 0), so that an alert on a rate has a series to read.
pub const RAISONS_DE_FERMETURE: &[&str] = &[
    "client",
    "arret",
    "trop_grand",
    "protocole",
    "pas_utf8",
    "non_authentifie",
    "jeton_expire",
    "silence",
    "trop_lent",
    "banni",
    "expulse",
];

/// Reads one figure of a projection worker.
type Lecture = fn(&RapportTravailleur) -> i64;

fn histogramme() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The registry and the metrics the gateway updates as it goes.
#[derive(Debug)]
pub struct Metriques {
    registre: Registry,
    appels: Family<Etiquettes, Counter>,
    durees: Family<Etiquettes, Histogram, fn() -> Histogram>,
    sockets_ouvertes: Gauge,
    sockets_fermees: Family<Etiquettes, Counter>,
    moteurs: Family<Etiquettes, Gauge>,
    deplacements_refuses: Family<Etiquettes, Counter>,
    refus_soutenus: Counter,
}

/// What is read at each scrape.
#[derive(Debug)]
struct AuMoment {
    compteurs: Arc<Compteurs>,
    lecteur: Arc<CompteursPartage>,
    travailleurs: Vec<(Projection, Arc<RapportTravailleur>)>,
    sockets: Arc<Sockets>,
    bus: CompteursBus,
}

/// The bus's parts this process runs (zero counters for the parts it does not).
#[derive(Debug, Clone, Default)]
pub struct CompteursBus {
    /// The relay from the store to NATS.
    pub relais: Arc<RapportRelais>,
    /// The process managers.
    pub reactions: Arc<RapportReactions>,
}

/// A counter read at each scrape: name, help, value.
type CompteurLu<'a> = (&'static str, &'static str, &'a AtomicU64);

impl AuMoment {
    /// The relay's gauges (zero where this process does not lead it).
    fn encoder_relais(&self, encodeur: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let relais = &self.bus.relais;
        let jauges = [
            (
                "mmo_relais_retard_evenements",
                "Événements du magasin pas encore publiés sur le bus (mesuré par l'instance qui mène le relais).",
                relais.retard.evenements.load(Ordering::Relaxed),
            ),
            (
                "mmo_relais_retard_millisecondes",
                "Âge du plus ancien événement pas encore publié sur le bus (mesuré par l'instance qui mène le relais).",
                relais.retard.millisecondes.load(Ordering::Relaxed),
            ),
            (
                "mmo_relais_meneur",
                "1 si cette instance mène le relais vers le bus.",
                i64::from(relais.meneur.load(Ordering::Relaxed)),
            ),
        ];
        for (nom, aide, valeur) in jauges {
            let g = ConstGauge::new(valeur);
            g.encode(encodeur.encode_descriptor(nom, aide, None, g.metric_type())?)?;
        }
        Ok(())
    }

    /// The write side's and the store readers' counters, read where their owner keeps them.
    fn compteurs_du_magasin(&self) -> [CompteurLu<'_>; 12] {
        [
            (
                "mmo_commandes_conflits",
                "Tentatives de commande perdues face à une écriture concurrente (chacune est réessayée).",
                &self.compteurs.conflits,
            ),
            (
                "mmo_commandes_deja_appliquees",
                "Commandes répondues depuis leur première application (même id_commande).",
                &self.compteurs.deja_appliquees,
            ),
            (
                "mmo_commandes_abandons",
                "Commandes abandonnées après la dernière tentative (erreur CONFLIT).",
                &self.compteurs.abandons,
            ),
            (
                "mmo_ecriture_lots",
                "Instructions qui ont écrit un lot de commandes décidées au même moment (écriture groupée, magasin.md §2).",
                &self.compteurs.ecriture.lots,
            ),
            (
                "mmo_ecriture_commandes",
                "Commandes portées par ces instructions (rapportées aux lots : la taille moyenne d'un lot).",
                &self.compteurs.ecriture.commandes,
            ),
            (
                "mmo_ecriture_reprises",
                "Lots réécrits après une course avec l'écriture d'un autre processus sur la même clé.",
                &self.compteurs.ecriture.reprises,
            ),
            (
                "mmo_lecteur_partage_en_memoire",
                "Événements remis aux lecteurs du processus par le lecteur partagé, depuis sa mémoire (magasin.md §3).",
                &self.lecteur.servis_en_memoire,
            ),
            (
                "mmo_lecteur_partage_par_le_magasin",
                "Événements que les lecteurs du processus ont lus eux-mêmes dans le magasin, hors du tampon du lecteur partagé (en retard, ou au démarrage).",
                &self.lecteur.servis_par_le_magasin,
            ),
            (
                "mmo_instantanes_ecrits",
                "Instantanés d'agrégats écrits (magasin.md §2).",
                &self.compteurs.instantanes.ecrits,
            ),
            (
                "mmo_instantanes_echecs",
                "Écritures d'instantanés en échec (journalisées ; l'agrégat sera repris plus tard).",
                &self.compteurs.instantanes.echecs,
            ),
            (
                "mmo_instantanes_omis",
                "Instantanés dus mais pas écrits : trop d'écritures en vol.",
                &self.compteurs.instantanes.omis,
            ),
            (
                "mmo_instantanes_ignores",
                "Instantanés trouvés au chargement mais pas utilisés (empreinte périmée, état illisible) : le flux est rejoué et l'instantané remplacé.",
                &self.compteurs.instantanes.ignores,
            ),
        ]
    }

    /// The pushes', the broadcasts' and the bus's counters, read where their owner keeps them.
    fn compteurs_de_diffusion(&self) -> [CompteurLu<'_>; 8] {
        [
            (
                "mmo_pousses_abandonnees",
                "Notifications non livrées à une socket trop lente (elle est fermée).",
                &self.sockets.abandons,
            ),
            (
                "mmo_diffusions_perdues",
                "Déplacements et messages non diffusés aux autres instances (NATS en panne ou trop lent).",
                &crate::diffusion::DIFFUSIONS_PERDUES,
            ),
            (
                "mmo_relais_publies",
                "Événements publiés sur le bus et acquittés par JetStream.",
                &self.bus.relais.publies,
            ),
            (
                "mmo_relais_reprises",
                "Reprises du relais depuis son point de reprise après une panne (NATS, PostgreSQL).",
                &self.bus.relais.reprises,
            ),
            (
                "mmo_reactions_traitees",
                "Événements du bus traités par les process managers.",
                &self.bus.reactions.traites,
            ),
            (
                "mmo_reactions_echecs",
                "Réactions en échec (conflit, panne), relivrées plus tard.",
                &self.bus.reactions.echecs,
            ),
            (
                "mmo_tours_echus",
                "Tours de combat terminés par leur échéance.",
                &self.bus.reactions.tours_echus,
            ),
            (
                "mmo_echanges_echus",
                "Échanges entre joueurs expirés à leur échéance, leurs réservations libérées.",
                &self.bus.reactions.echanges_echus,
            ),
        ]
    }
}

impl Collector for AuMoment {
    fn encode(&self, mut encodeur: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (nom, aide, valeur) in self
            .compteurs_du_magasin()
            .into_iter()
            .chain(self.compteurs_de_diffusion())
        {
            let c = ConstCounter::new(valeur.load(Ordering::Relaxed));
            c.encode(encodeur.encode_descriptor(nom, aide, None, c.metric_type())?)?;
        }
        let jauges: [(&str, &str, Lecture); 3] = [
            (
                "mmo_projection_retard_evenements",
                "Événements du magasin pas encore appliqués par la projection.",
                |e| e.retard.evenements.load(Ordering::Relaxed),
            ),
            (
                "mmo_projection_retard_millisecondes",
                "Âge du plus ancien événement pas encore appliqué.",
                |e| e.retard.millisecondes.load(Ordering::Relaxed),
            ),
            (
                "mmo_projection_meneuse",
                "1 si cette instance mène la projection.",
                |e| i64::from(e.meneur.load(Ordering::Relaxed)),
            ),
        ];
        for (nom, aide, lire) in jauges {
            let mut famille = encodeur.encode_descriptor(
                nom,
                aide,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for (projection, etat) in &self.travailleurs {
                let etiquettes = [("projection", projection.nom())];
                ConstGauge::new(lire(etat)).encode(famille.encode_family(&etiquettes)?)?;
            }
        }
        self.encoder_relais(&mut encodeur)?;
        Ok(())
    }
}

impl Metriques {
    /// The metrics of one process: its store's counters, its projection workers, its sockets.
    pub fn new(
        compteurs: Arc<Compteurs>,
        lecteur: Arc<CompteursPartage>,
        travailleurs: Vec<(Projection, Arc<RapportTravailleur>)>,
        sockets: Arc<Sockets>,
        bus: CompteursBus,
    ) -> Self {
        let mut registre = Registry::default();
        let appels = Family::<Etiquettes, Counter>::default();
        let durees =
            Family::<Etiquettes, Histogram, fn() -> Histogram>::new_with_constructor(histogramme);
        let sockets_ouvertes = Gauge::default();
        // `register` ends each help text with its own full stop.
        registre.register(
            "mmo_rpc_appels",
            "Appels JSON-RPC par méthode et issue (ok ou data.code de l'erreur)",
            appels.clone(),
        );
        registre.register(
            "mmo_rpc_duree_secondes",
            "Durée de traitement d'un appel JSON-RPC, par méthode",
            durees.clone(),
        );
        registre.register(
            "mmo_websockets_ouvertes",
            "WebSocket ouvertes",
            sockets_ouvertes.clone(),
        );
        let sockets_fermees = Family::<Etiquettes, Counter>::default();
        registre.register(
            "mmo_websockets_fermees",
            "WebSocket fermées, par raison (client, arret, trop_grand, protocole, pas_utf8, non_authentifie, jeton_expire, silence, trop_lent)",
            sockets_fermees.clone(),
        );
        for raison in RAISONS_DE_FERMETURE {
            let _ = sockets_fermees.get_or_create(&vec![("raison", (*raison).to_owned())]);
        }
        let moteurs = Family::<Etiquettes, Gauge>::default();
        registre.register(
            "mmo_moteur_joignable",
            "1 si le moteur (postgresql, redis, nats) a répondu au dernier sondage de la passerelle (toutes les 5 s), 0 sinon",
            moteurs.clone(),
        );
        let deplacements_refuses = Family::<Etiquettes, Counter>::default();
        registre.register(
            "mmo_deplacements_refuses",
            "Pas refusés par la règle de déplacement, par raison (TROP_RAPIDE, HORS_ZONE, ZONE_INCONNUE) ; le compte de chacun est journalisé (cible securite)",
            deplacements_refuses.clone(),
        );
        for raison in <domain::monde::ErreurMonde as strum::VariantNames>::VARIANTS {
            let _ = deplacements_refuses.get_or_create(&vec![("raison", (*raison).to_owned())]);
        }
        let refus_soutenus = Counter::default();
        registre.register(
            "mmo_deplacements_refus_soutenus",
            "Comptes arrivés au seuil de pas refusés dans la fenêtre (un événement de sécurité journalisé chacun)",
            refus_soutenus.clone(),
        );
        registre.register_collector(Box::new(AuMoment {
            compteurs,
            lecteur,
            travailleurs,
            sockets,
            bus,
        }));
        Self {
            registre,
            appels,
            durees,
            sockets_ouvertes,
            sockets_fermees,
            moteurs,
            deplacements_refuses,
            refus_soutenus,
        }
    }

    /// Counts a socket closed, by why (one of [`RAISONS_DE_FERMETURE`]).
    pub fn socket_fermee(&self, raison: &'static str) {
        self.sockets_fermees
            .get_or_create(&vec![("raison", raison.to_owned())])
            .inc();
    }

    /// Whether an engine answered its last probe.
    pub fn moteur_joignable(&self, moteur: &'static str, joignable: bool) {
        self.moteurs
            .get_or_create(&vec![("moteur", moteur.to_owned())])
            .set(i64::from(joignable));
    }

    /// Counts a refused step, by its reason (`data.code`).
    pub fn deplacement_refuse(&self, raison: &'static str) {
        self.deplacements_refuses
            .get_or_create(&vec![("raison", raison.to_owned())])
            .inc();
    }

    /// Counts an account that reached the threshold of refused steps.
    pub fn refus_soutenus(&self) {
        self.refus_soutenus.inc();
    }

    /// Counts a call (and its duration, when it reached a method).
    pub fn appel(&self, methode: &'static str, issue: &str, duree: Option<Duration>) {
        self.appels
            .get_or_create(&vec![
                ("methode", methode.to_owned()),
                ("issue", issue.to_owned()),
            ])
            .inc();
        if let Some(d) = duree {
            self.durees
                .get_or_create(&vec![("methode", methode.to_owned())])
                .observe(d.as_secs_f64());
        }
    }

    /// A socket opened (+1) or closed (-1).
    pub fn sockets(&self, delta: i64) {
        self.sockets_ouvertes.inc_by(delta);
    }

    /// The OpenMetrics exposition.
    pub fn encoder(&self) -> Result<String, std::fmt::Error> {
        let mut texte = String::new();
        prometheus_client::encoding::text::encode(&mut texte, &self.registre)?;
        Ok(texte)
    }

    /// The exposition in the format asked for.
    pub fn encoder_en(&self, format: Format) -> Result<String, std::fmt::Error> {
        let texte = self.encoder()?;
        Ok(match format {
            Format::OpenMetrics => texte,
            Format::Texte => en_texte_classique(&texte),
        })
    }
}

/// The two expositions `/metrics` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 (`application/openmetrics-text`), what Prometheus asks for first.
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4 (`text/plain`), for older scrapers and
    /// `promtool check metrics`.
    Texte,
}

impl Format {
    /// The format an `Accept` header prefers: the classic text only when `text/plain` weighs
    /// more than `application/openmetrics-text` (by `q`); OpenMetrics otherwise, with no header
    /// and for `*/*`, as before content negotiation existed.
    pub fn negocier(accept: Option<&str>) -> Self {
        let (mut openmetrics, mut texte) = (None::<f32>, None::<f32>);
        for gamme in accept.unwrap_or_default().split(',') {
            let mut parties = gamme.split(';').map(str::trim);
            let genre = parties.next().unwrap_or_default().to_ascii_lowercase();
            let q = parties
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let cible = match genre.as_str() {
                "application/openmetrics-text" => &mut openmetrics,
                "text/plain" => &mut texte,
                _ => continue,
            };
            *cible = Some(cible.map_or(q, |avant| avant.max(q)));
        }
        match (openmetrics, texte) {
            (o, Some(t)) if t > 0.0 && t > o.unwrap_or(0.0) => Self::Texte,
            _ => Self::OpenMetrics,
        }
    }

    /// Its `Content-Type`.
    pub fn type_de_contenu(self) -> &'static str {
        match self {
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::Texte => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The classic text format from prometheus-client's OpenMetrics (it writes no other): a
/// counter's `HELP` and `TYPE` name its samples (`x_total`, where OpenMetrics names the family
/// `x`), `UNIT` and `# EOF` go, `unknown` is `untyped`. Without this, `promtool check
/// metrics` finds no help text for every counter.
fn en_texte_classique(openmetrics: &str) -> String {
    use std::fmt::Write as _;
    let compteurs: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut texte = String::with_capacity(openmetrics.len());
    for ligne in openmetrics.lines() {
        if ligne == "# EOF" || ligne.starts_with("# UNIT ") {
            continue;
        }
        let entete = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| ligne.strip_prefix(p).map(|reste| (p, reste)));
        if let Some((prefixe, reste)) = entete {
            let (nom, suite) = reste.split_once(' ').unwrap_or((reste, ""));
            let suite = if prefixe == "# TYPE " && suite == "unknown" {
                "untyped"
            } else {
                suite
            };
            let total = if compteurs.contains(nom) {
                "_total"
            } else {
                ""
            };
            let _ = writeln!(texte, "{prefixe}{nom}{total} {suite}");
        } else {
            texte.push_str(ligne);
            texte.push('\n');
        }
    }
    texte
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn les_appels_et_le_retard_des_projections_apparaissent() {
        let etat = Arc::new(RapportTravailleur::default());
        etat.retard.evenements.store(7, Ordering::Relaxed);
        let m = Metriques::new(
            Arc::default(),
            Arc::default(),
            vec![(Projection::Joueurs, etat)],
            Arc::default(),
            CompteursBus::default(),
        );
        m.appel("joueur.creer", "ok", Some(Duration::from_millis(3)));
        m.appel(
            "joueur.creer",
            "NOM_DEJA_PRIS",
            Some(Duration::from_millis(1)),
        );
        m.sockets(1);
        m.deplacement_refuse("TROP_RAPIDE");
        let texte = m.encoder().expect("encodage");
        assert!(
            texte.contains(r#"mmo_deplacements_refuses_total{raison="TROP_RAPIDE"} 1"#),
            "{texte}"
        );
        assert!(texte.contains("mmo_deplacements_refus_soutenus_total 0"));
        assert!(
            texte.contains(r#"mmo_rpc_appels_total{methode="joueur.creer",issue="ok"} 1"#),
            "{texte}"
        );
        assert!(texte.contains(r#"mmo_projection_retard_evenements{projection="joueurs"} 7"#));
        assert!(texte.contains("mmo_websockets_ouvertes 1"));
        assert!(texte.contains("mmo_rpc_duree_secondes_bucket"));
        assert!(texte.contains("mmo_commandes_conflits_total 0"));
    }

    #[test]
    fn le_texte_classique_nomme_l_aide_d_un_compteur_comme_ses_echantillons() {
        let m = Metriques::new(
            Arc::default(),
            Arc::default(),
            Vec::new(),
            Arc::default(),
            CompteursBus::default(),
        );
        m.appel("joueur.creer", "ok", Some(Duration::from_millis(3)));
        let texte = m.encoder_en(Format::Texte).expect("encodage");
        assert!(texte.contains("# HELP mmo_rpc_appels_total "), "{texte}");
        assert!(
            texte.contains("# TYPE mmo_rpc_appels_total counter"),
            "{texte}"
        );
        assert!(
            texte.contains("# TYPE mmo_rpc_duree_secondes histogram"),
            "{texte}"
        );
        assert!(
            texte.contains("# TYPE mmo_commandes_conflits_total counter"),
            "{texte}"
        );
        assert!(
            !texte.contains("# EOF") && !texte.contains("# UNIT"),
            "{texte}"
        );
        let om = m.encoder_en(Format::OpenMetrics).expect("encodage");
        assert!(om.contains("# TYPE mmo_rpc_appels counter") && om.ends_with("# EOF\n"));
    }

    #[test]
    fn le_texte_classique_n_est_servi_qu_a_qui_le_prefere() {
        use Format::{OpenMetrics, Texte};
        let cas = [
            (None, OpenMetrics),
            (Some("*/*"), OpenMetrics),
            (Some("text/plain"), Texte),
            (Some("text/plain; version=0.0.4"), Texte),
            (
                Some("application/openmetrics-text; version=1.0.0"),
                OpenMetrics,
            ),
            // What Prometheus 2.x sends: OpenMetrics first.
            (
                Some(
                    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                     version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                ),
                OpenMetrics,
            ),
            (
                Some("application/openmetrics-text;q=0.2, text/plain;q=0.9"),
                Texte,
            ),
            (Some("text/plain;q=0"), OpenMetrics),
            (Some("TEXT/PLAIN"), Texte),
        ];
        for (accept, attendu) in cas {
            assert_eq!(Format::negocier(accept), attendu, "{accept:?}");
        }
    }
}
