//! Micro-benchmarks of the aggregates' hot paths, without I/O: a whole scripted fight through
//! `Combat::handle` (which applies each event as it writes it), replaying that fight's events
//! with `apply` alone (what every command pays to load its aggregate), a buy/craft/sell cycle
//! through `Inventaire::handle`, and the events' JSON round trip as the store writes and
//! reads them.
//!
//! `cargo bench -p domain --bench agregats` (about half a minute).

// `criterion_main!` writes a `pub fn main` without a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use cqrs_es::Aggregate as _;
use cqrs_es::event_sink::EventSink;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domain::combat::{Combat, Combattant, CommandeCombat, EvenementCombat, Phase};
use domain::ids::{CombatId, FabricationId, JoueurId};
use domain::inventaire::{CommandeInventaire, EvenementInventaire, Inventaire};
use domain::simulation::{action_scriptee, simuler};
use domain::valeurs::{
    Classe, CodeItem, CodeMarchand, CodeRecette, CodeRencontre, CodeZone, Graine, Horodatage,
    Niveau, NomJoueur, Quantite,
};
use domain::{Catalogue, Services};
use uuid::Uuid;

fn executeur() -> tokio::runtime::Runtime {
    // `handle` is async by cqrs-es's signature but never waits: a current-thread runtime
    // costs next to nothing around it.
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// One scripted fight of a Tank, a DPS and a Heal against the wolves: its events, in order.
async fn combat_scripte(catalogue: &Services, graine: u64) -> Vec<EvenementCombat> {
    let sink = EventSink::default();
    let mut combat = Combat::default();
    let membres: Vec<Combattant> = [Classe::Tank, Classe::Dps, Classe::Heal]
        .into_iter()
        .enumerate()
        .map(|(i, classe)| Combattant {
            joueur_id: JoueurId::from_uuid(Uuid::from_u64_pair(graine, i as u64 + 1)),
            nom: NomJoueur::parse(&format!("Banc{i}")).expect("nom"),
            classe,
            niveau: Niveau::parse(1).expect("niveau"),
        })
        .collect();
    let initiateur = membres[0].joueur_id;
    let mut commandes = vec![CommandeCombat::Preparer {
        combat_id: CombatId::from_uuid(Uuid::from_u64_pair(graine, 0)),
        rencontre: CodeRencontre::parse("meute_de_loups").expect("code"),
        zone: CodeZone::parse("plaine_verte").expect("code"),
        graine: Graine::new(graine),
        initiateur: membres[0].clone(),
    }];
    commandes.extend(membres[1..].iter().map(|c| CommandeCombat::Rejoindre {
        combattant: c.clone(),
    }));
    commandes.push(CommandeCombat::Lancer {
        joueur_id: initiateur,
        maintenant: Horodatage::UNIX_EPOCH,
    });
    for c in commandes {
        combat.handle(c, catalogue, &sink).await.expect("commande");
    }
    while let Some(etat) = combat.etat()
        && matches!(etat.phase, Phase::EnCours { .. })
    {
        let acteur = etat
            .participants
            .iter()
            .position(|p| !p.ko() && !p.a_agi)
            .expect("quelqu'un doit agir");
        let commande = CommandeCombat::Agir {
            joueur_id: etat.participants[acteur].combattant.joueur_id,
            action: action_scriptee(etat, acteur),
            maintenant: Horodatage::UNIX_EPOCH,
        };
        combat
            .handle(commande, catalogue, &sink)
            .await
            .expect("agir");
    }
    sink.collect().await
}

/// An opened inventory (30 gold, the starting kit) and its events.
async fn inventaire_ouvert(catalogue: &Services) -> (Inventaire, Vec<EvenementInventaire>) {
    let sink = EventSink::default();
    let mut inventaire = Inventaire::default();
    inventaire
        .handle(
            CommandeInventaire::Ouvrir {
                joueur_id: JoueurId::from_uuid(Uuid::from_u64_pair(9, 9)),
            },
            catalogue,
            &sink,
        )
        .await
        .expect("ouvrir");
    (inventaire, sink.collect().await)
}

/// Buy two herbs, brew a potion, sell it: the economy steps of the load tool's mix.
fn cycle_economique() -> [CommandeInventaire; 3] {
    let apothicaire = CodeMarchand::parse("apothicaire_mirabelle").expect("code");
    [
        CommandeInventaire::Acheter {
            marchand: apothicaire.clone(),
            item: CodeItem::parse("herbe_medicinale").expect("code"),
            quantite: Quantite::parse(2).expect("quantité"),
        },
        CommandeInventaire::Fabriquer {
            fabrication_id: FabricationId::from_uuid(Uuid::from_u64_pair(7, 7)),
            recette: CodeRecette::parse("potion_de_soin").expect("code"),
        },
        CommandeInventaire::Vendre {
            marchand: apothicaire,
            item: CodeItem::parse("potion_de_soin").expect("code"),
            quantite: Quantite::parse(1).expect("quantité"),
        },
    ]
}

fn agregats(c: &mut Criterion) {
    let rt = executeur();
    let catalogue: Services = Catalogue::officiel().expect("catalogue officiel");
    let niveau = Niveau::parse(1).expect("niveau");
    let loups = CodeRencontre::parse("meute_de_loups").expect("code");
    let trio = [Classe::Tank, Classe::Dps, Classe::Heal];
    let evenements = rt.block_on(combat_scripte(&catalogue, 42));

    let mut g = c.benchmark_group("combat");
    g.throughput(Throughput::Elements(evenements.len() as u64));
    g.bench_function("combat_entier_handle", |b| {
        let mut graine = 0;
        b.iter(|| {
            graine += 1;
            rt.block_on(simuler(
                &catalogue,
                &loups,
                &trio,
                niveau,
                Graine::new(graine),
            ))
            .expect("combat")
        });
    });
    g.bench_function("rejouer_apply", |b| {
        b.iter(|| {
            let mut combat = Combat::default();
            for e in &evenements {
                combat.apply(e.clone());
            }
            black_box(combat)
        });
    });
    let textes: Vec<String> = evenements
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    g.bench_function("serialiser", |b| {
        b.iter(|| {
            for e in &evenements {
                black_box(serde_json::to_value(e).expect("json").to_string());
            }
        });
    });
    g.bench_function("deserialiser_par_value", |b| {
        // The store's path: text → `serde_json::Value` → typed event.
        b.iter(|| {
            for t in &textes {
                let v: serde_json::Value = serde_json::from_str(t).expect("json");
                black_box(serde_json::from_value::<EvenementCombat>(v).expect("événement"));
            }
        });
    });
    g.bench_function("deserialiser_direct", |b| {
        b.iter(|| {
            for t in &textes {
                black_box(serde_json::from_str::<EvenementCombat>(t).expect("événement"));
            }
        });
    });
    g.finish();

    let (ouvert, _) = rt.block_on(inventaire_ouvert(&catalogue));
    let mut g = c.benchmark_group("inventaire");
    g.throughput(Throughput::Elements(3));
    g.bench_function("acheter_fabriquer_vendre_handle", |b| {
        b.iter(|| {
            let mut inventaire = ouvert.clone();
            let sink = EventSink::default();
            for commande in cycle_economique() {
                rt.block_on(inventaire.handle(commande, &catalogue, &sink))
                    .expect("commande");
            }
            black_box(inventaire)
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = agregats
}
criterion_main!(benches);
