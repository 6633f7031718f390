//! doc/agregats.md against the code it describes: the tables of zones (start points, portals)
//! and of items (`pile_max`) are rendered here from the shipped catalog and must appear in the
//! doc word for word, and the worked example of the dice (§4.9) must be what `Des` rolls. A
//! catalog change that forgets the doc fails here, with the table to paste.

use std::fmt::Write as _;

use domain::Catalogue;
use domain::de::{But, Des};
use domain::valeurs::Graine;

const DOC: &str = include_str!("../../doc/agregats.md");

fn metres(v: f64) -> String {
    // Whole metres as integers, the rest as written (the catalog uses both).
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn point(x: f64, y: f64) -> String {
    format!("({}, {})", metres(x), metres(y))
}

fn tableau_des_zones(catalogue: &Catalogue) -> String {
    let mut t = String::from(
        "| zone | nom | taille (m) | donjon | départ | portail vers | position | arrivée | niveau min |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (code, zone) in catalogue.zones() {
        for (i, portail) in zone.portails.iter().enumerate() {
            let tete = if i == 0 {
                format!(
                    "`{}` | {} | {} × {} | {} | {}",
                    code.as_str(),
                    zone.nom,
                    metres(zone.largeur),
                    metres(zone.hauteur),
                    if zone.donjon { "oui" } else { "non" },
                    point(zone.depart.x(), zone.depart.y()),
                )
            } else {
                "| | | |".to_owned()
            };
            let _ = writeln!(
                t,
                "| {tete} | `{}` | {} | {} | {} |",
                portail.vers.as_str(),
                point(portail.position.x(), portail.position.y()),
                point(portail.arrivee.x(), portail.arrivee.y()),
                portail.niveau_min.valeur(),
            );
        }
    }
    t
}

fn tableau_des_items(catalogue: &Catalogue) -> String {
    let mut t = String::from("| item | nom | genre | `pile_max` |\n|---|---|---|---|\n");
    for (code, item) in catalogue.items() {
        let genre = serde_json::to_value(item.genre).expect("genre en JSON");
        let _ = writeln!(
            t,
            "| `{}` | {} | {} | {} |",
            code.as_str(),
            item.nom,
            genre.as_str().expect("genre : une chaîne"),
            item.pile_max,
        );
    }
    t
}

#[test]
fn la_doc_donne_les_zones_departs_et_portails_du_catalogue() {
    let catalogue = Catalogue::officiel().expect("catalogue officiel");
    let attendu = tableau_des_zones(&catalogue);
    assert!(
        DOC.contains(&attendu),
        "doc/agregats.md §6.3 doit contenir, tel quel :\n\n{attendu}"
    );
}

#[test]
fn la_doc_donne_le_pile_max_de_chaque_item() {
    let catalogue = Catalogue::officiel().expect("catalogue officiel");
    let attendu = tableau_des_items(&catalogue);
    assert!(
        DOC.contains(&attendu),
        "doc/agregats.md §6.3 doit contenir, tel quel :\n\n{attendu}"
    );
}

#[test]
fn l_exemple_des_des_de_la_doc_est_ce_que_les_des_tirent() {
    // §4.9: the first attack of protocole.md §1.5 (Sylvaine, participant 1, on wolf 0, round 1).
    let des = Des::new(Graine::new(14_957_494_194_337_040_506));
    let degats = des.brut(But::Degats, &[1, 1, 0]);
    let critique = des.brut(But::Critique, &[1, 1, 0]);
    for (valeur, texte) in [
        (degats, "13978980717683171420"),
        (critique, "18186236284731681532"),
    ] {
        assert_eq!(valeur.to_string(), texte);
        assert!(DOC.contains(texte), "§4.9 doit donner {texte}");
    }
    assert_eq!(des.entre(But::Degats, &[1, 1, 0], 85, 115), 90);
    assert!(!des.chance(But::Critique, &[1, 1, 0], 20));
}
