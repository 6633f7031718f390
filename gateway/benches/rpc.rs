//! Micro-benchmarks of the JSON-RPC dispatcher's pure part, what every WebSocket message
//! pays before and after its handler's I/O: reading the message into a `Value`, finding the
//! method, deserializing its params into the handler's type; and building the answer (a
//! command's events) and a push, down to the text written on the socket.
//!
//! `cargo bench -p gateway --bench rpc` (about 15 s).

// `criterion_main!` writes a `pub fn main` without a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::protocole::{en_json, evenements_json, notification, params, reponse};
use gateway::rpc::{Methode, combat, monde};
use serde_json::{Value, json};

/// What the dispatcher does with one call up to its handler.
fn analyser<P: serde::de::DeserializeOwned>(corps: &[u8]) -> (Value, Methode, P) {
    let mut appel: Value = serde_json::from_slice(corps).expect("json");
    let objet = appel.as_object_mut().expect("objet");
    let id = objet.remove("id").unwrap_or(Value::Null);
    let Some(Value::String(nom)) = objet.remove("method") else {
        panic!("méthode");
    };
    let methode = Methode::depuis_nom(&nom).expect("méthode connue");
    let p = params::<P>(objet.remove("params")).expect("paramètres");
    (id, methode, p)
}

fn rpc(c: &mut Criterion) {
    let joueur = "75d622b1-5a7d-52fa-8e27-b9eac4c3fca2";
    let combat_id = "4658d649-3dc2-5600-9d9f-3587d258241c";
    let deplacer = json!({ "jsonrpc": "2.0", "id": 17, "method": "monde.deplacer",
        "params": { "joueur_id": joueur, "x": 101.5, "y": 100.0 } })
    .to_string();
    let agir = json!({ "jsonrpc": "2.0", "id": 18, "method": "combat.agir",
        "params": { "joueur_id": joueur, "combat_id": combat_id,
                    "action": { "type": "attaquer", "cible": 0 } } })
    .to_string();
    // A round-closing action's events, as the store keeps them (externally tagged).
    let evenements: Vec<Value> = vec![
        json!({ "AttaquePortee": { "critique": false, "degats": 8, "joueur_id": joueur,
            "menace": 8, "monstre": 0, "pv_restants": 20, "tour": 1 } }),
        json!({ "MonstreAttaque": { "cible": joueur, "degats": 13, "frappe_de_zone": false,
            "monstre": 0, "pv_restants": 77, "tour": 1 } }),
        json!({ "MonstreAttaque": { "cible": joueur, "degats": 9, "frappe_de_zone": false,
            "monstre": 1, "pv_restants": 141, "tour": 1 } }),
        json!({ "TourCommence": { "echeance": "2026-11-29T22:19:05.799013162Z", "tour": 2 } }),
    ];

    let mut g = c.benchmark_group("rpc");
    g.bench_function("analyser_monde_deplacer", |b| {
        b.iter(|| black_box(analyser::<monde::Deplacer>(black_box(deplacer.as_bytes()))));
    });
    g.bench_function("analyser_combat_agir", |b| {
        b.iter(|| black_box(analyser::<combat::Agir>(black_box(agir.as_bytes()))));
    });
    g.bench_function("repondre_combat_agir", |b| {
        b.iter(|| {
            let resultat = evenements_json(black_box(&evenements), None).expect("événements");
            let resultat = en_json(&resultat).expect("json");
            black_box(reponse(json!(18), resultat).to_string())
        });
    });
    // One tick of a zone where 300 characters moved: built and written once, pushed as is to
    // every socket of the zone.
    g.bench_function("pousser_monde_deplacements_300", |b| {
        b.iter(|| {
            let deplacements: Vec<_> = (0..300)
                .map(|i| {
                    json!({ "joueur_id": joueur, "nom": "Alicia", "zone": "plaine_verte",
                        "position": { "x": 100.0 + f64::from(i), "y": 100.0 } })
                })
                .collect();
            let params = json!({ "zone": "plaine_verte", "deplacements": deplacements });
            black_box(notification("monde.deplacements", params).to_string())
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
    targets = rpc
}
criterion_main!(benches);
