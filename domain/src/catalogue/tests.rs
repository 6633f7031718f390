//! The shipped catalog's content, and each validation rule refusing a broken copy of it with an
//! error that names the entry at fault.

use std::collections::BTreeSet;

use super::{CATALOGUE_OFFICIEL, Catalogue, ErreurCatalogue, Objectif};
use crate::valeurs::{Classe, Niveau};

fn officiel() -> std::sync::Arc<Catalogue> {
    Catalogue::officiel().expect("le catalogue officiel est valide")
}

/// The official catalog with one piece of text replaced (which must be there).
fn mute(de: &str, vers: &str) -> Result<Catalogue, ErreurCatalogue> {
    assert!(
        CATALOGUE_OFFICIEL.contains(de),
        "le motif {de:?} a disparu du catalogue"
    );
    Catalogue::depuis_toml(&CATALOGUE_OFFICIEL.replacen(de, vers, 1))
}

fn erreur(de: &str, vers: &str) -> String {
    mute(de, vers)
        .expect_err("le catalogue muté doit être refusé")
        .to_string()
}

#[test]
fn le_catalogue_officiel_a_tout_ce_qu_un_jeu_demande() {
    let c = officiel();
    assert!(c.monstres().len() >= 8);
    assert!(c.items().len() >= 15);
    assert!(c.recettes().len() >= 6);
    assert!(c.quetes().len() >= 8);
    assert!(c.rencontres().len() >= 6);
    let zones: BTreeSet<_> = c.rencontres().values().map(|r| &r.zone).collect();
    assert!(zones.len() >= 3, "rencontres dans {} zones", zones.len());
    let boss_de_donjon = c.rencontres().values().any(|r| {
        c.zone(&r.zone).is_some_and(|z| z.donjon)
            && r.monstres
                .iter()
                .any(|m| c.monstre(m).is_some_and(|m| m.boss))
    });
    assert!(boss_de_donjon, "il faut un donjon avec un boss");
    let articles = c.marchands().values().flat_map(|m| &m.articles);
    assert!(articles.clone().any(|a| a.prix_vente.is_some()));
    assert!(articles.clone().any(|a| a.prix_rachat.is_some()));
}

#[test]
fn les_quetes_officielles_ont_des_objectifs_varies() {
    let genres: BTreeSet<&str> = officiel()
        .quetes()
        .values()
        .map(|q| match q.objectif {
            Objectif::Vaincre { .. } => "vaincre",
            Objectif::Fabriquer { .. } => "fabriquer",
            Objectif::AtteindreNiveau { .. } => "niveau",
            Objectif::GagnerCombat { .. } => "role",
        })
        .collect();
    assert_eq!(genres.len(), 4, "{genres:?}");
}

#[test]
fn la_courbe_d_xp_mene_au_niveau_maximum() {
    let c = officiel();
    let max = c.regles().niveau_max;
    assert_eq!(c.niveau_pour_xp(0), Niveau::UN);
    let seuil_max = c.xp_pour_niveau(max).expect("seuil du niveau max");
    assert_eq!(c.niveau_pour_xp(seuil_max), max);
    assert_eq!(c.niveau_pour_xp(seuil_max - 1).valeur(), max.valeur() - 1);
    assert_eq!(c.niveau_pour_xp(u64::MAX), max);
    let au_dela = Niveau::parse(max.valeur() + 1).expect("niveau");
    assert_eq!(c.xp_pour_niveau(au_dela), None);
}

#[test]
fn les_stats_croissent_avec_le_niveau() {
    let c = officiel();
    let dix = Niveau::parse(10).expect("niveau");
    for classe in [Classe::Tank, Classe::Dps, Classe::Heal] {
        let (un, dix) = (c.stats(classe, Niveau::UN), c.stats(classe, dix));
        assert!(
            dix.pv_max > un.pv_max && dix.attaque > un.attaque,
            "{classe}"
        );
    }
}

#[test]
fn un_fichier_illisible_est_refuse_avec_sa_position() {
    let e = erreur("[regles]", "[regles");
    assert!(e.starts_with("catalogue illisible"), "{e}");
    assert!(e.contains("line"), "{e}");
}

#[test]
fn un_champ_inconnu_est_refuse() {
    let e = erreur("pile_max = 20\n", "pile_max = 20\npoids = 3\n");
    assert!(e.contains("poids"), "{e}");
}

#[test]
fn un_code_mal_forme_est_refuse() {
    let e = erreur("[items.pain]", "[items.Pain]");
    assert!(e.contains("Pain"), "{e}");
}

#[test]
fn une_rencontre_qui_cite_un_monstre_inconnu_nomme_la_rencontre_et_le_monstre() {
    let e = erreur(
        r#"monstres = ["loup", "loup"]"#,
        r#"monstres = ["loup", "dragon"]"#,
    );
    assert!(
        e.contains("rencontre `meute_de_loups`") && e.contains("dragon"),
        "{e}"
    );
}

#[test]
fn un_butin_qui_cite_un_item_inconnu_nomme_le_monstre() {
    let e = erreur(
        r#"{ item = "peau_de_loup", chance_pct = 60"#,
        r#"{ item = "fourrure", chance_pct = 60"#,
    );
    assert!(
        e.contains("monstre `loup`") && e.contains("fourrure"),
        "{e}"
    );
}

#[test]
fn une_recette_qui_cite_un_item_inconnu_est_refusee() {
    let e = erreur(
        r#"ingredients = [{ item = "minerai_de_fer", quantite = 2 }]"#,
        r#"ingredients = [{ item = "minerai_d_or", quantite = 2 }]"#,
    );
    assert!(
        e.contains("recette `lingot_de_fer`") && e.contains("minerai_d_or"),
        "{e}"
    );
}

#[test]
fn une_quantite_nulle_est_refusee() {
    let e = erreur(
        r#"ingredients = [{ item = "minerai_de_fer", quantite = 2 }]"#,
        r#"ingredients = [{ item = "minerai_de_fer", quantite = 0 }]"#,
    );
    assert!(e.contains("quantité invalide 0"), "{e}");
}

#[test]
fn une_pile_vide_est_refusee() {
    let e = erreur(
        "nom = \"Pain\"\ngenre = \"consommable\"\npile_max = 10",
        "nom = \"Pain\"\ngenre = \"consommable\"\npile_max = 0",
    );
    assert!(e.contains("item `pain`") && e.contains("pile_max"), "{e}");
}

#[test]
fn une_chance_de_butin_hors_bornes_est_refusee() {
    let e = erreur(
        "chance_pct = 60, quantite = { min = 1, max = 1 }",
        "chance_pct = 160, quantite = { min = 1, max = 1 }",
    );
    assert!(
        e.contains("monstre `loup`") && e.contains("chance_pct"),
        "{e}"
    );
}

#[test]
fn une_fourchette_a_l_envers_est_refusee() {
    let e = erreur("or = { min = 1, max = 3 }", "or = { min = 5, max = 3 }");
    assert!(e.contains("monstre `loup`") && e.contains("`or`"), "{e}");
}

#[test]
fn une_classe_manquante_est_refusee() {
    let e = erreur("[classes.Heal]", "[classes.Soigneur]");
    assert!(e.contains("Soigneur"), "{e}");
}

#[test]
fn une_courbe_d_xp_de_mauvaise_longueur_est_refusee() {
    let e = erreur("niveau_max = 20", "niveau_max = 21");
    assert!(e.contains("progression") && e.contains("xp_cumulee"), "{e}");
}

#[test]
fn une_courbe_d_xp_qui_redescend_est_refusee() {
    let e = erreur("xp_cumulee = [100, 250,", "xp_cumulee = [300, 250,");
    assert!(e.contains("strictement croissante"), "{e}");
}

#[test]
fn un_portail_hors_de_sa_zone_est_refuse() {
    // The plain is 1,000 m on each side: a portal on its edge is in, past it out.
    assert!(
        mute(
            "position = { x = 195.0, y = 100.0 }",
            "position = { x = 1000.0, y = 100.0 }",
        )
        .is_ok()
    );
    let e = erreur(
        "position = { x = 195.0, y = 100.0 }",
        "position = { x = 1000.5, y = 100.0 }",
    );
    assert!(
        e.contains("zone `plaine_verte`") && e.contains("portails.position"),
        "{e}"
    );
}

#[test]
fn une_arrivee_hors_de_la_zone_d_arrivee_est_refusee() {
    // The plain's portal leads to the forest, 1,200 m on each side: its edge is in, past it out.
    let bord = "arrivee = { x = 1200.0, y = 150.0 }";
    assert!(mute("arrivee = { x = 10.0, y = 150.0 }", bord).is_ok());
    let e = erreur(
        "arrivee = { x = 10.0, y = 150.0 }",
        "arrivee = { x = 1200.5, y = 150.0 }",
    );
    assert!(
        e.contains("zone `plaine_verte`") && e.contains("portails.arrivee"),
        "{e}"
    );
}

#[test]
fn un_portail_vers_une_zone_inconnue_est_refuse() {
    let e = erreur(
        r#"{ vers = "foret_sombre", position = { x = 195.0"#,
        r#"{ vers = "marais", position = { x = 195.0"#,
    );
    assert!(
        e.contains("zone `plaine_verte`") && e.contains("marais"),
        "{e}"
    );
}

#[test]
fn une_zone_de_depart_inconnue_est_refusee() {
    let e = erreur(
        r#"zone_depart = "plaine_verte""#,
        r#"zone_depart = "nulle_part""#,
    );
    assert!(e.contains("règles") && e.contains("nulle_part"), "{e}");
}

#[test]
fn un_groupe_de_plus_de_cinq_est_refuse() {
    let e = erreur("taille_groupe_max = 5", "taille_groupe_max = 6");
    assert!(e.contains("taille_groupe_max"), "{e}");
}

#[test]
fn un_prerequis_inconnu_est_refuse() {
    let e = erreur(
        r#"prerequis = ["premier_lingot"]"#,
        r#"prerequis = ["quete_fantome"]"#,
    );
    assert!(
        e.contains("quête `apprenti_forgeron`") && e.contains("quete_fantome"),
        "{e}"
    );
}

#[test]
fn des_prerequis_en_cycle_sont_refuses() {
    let e = erreur(
        "niveau_min = 1\nobjectif = { type = \"vaincre\", monstre = \"loup\", nombre = 4 }",
        "niveau_min = 1\nprerequis = [\"fin_de_la_liche\"]\nobjectif = { type = \"vaincre\", monstre = \"loup\", nombre = 4 }",
    );
    assert!(e.contains("cycle"), "{e}");
}

#[test]
fn une_quete_de_fabrication_d_un_objet_sans_recette_est_refusee() {
    let e = erreur(
        r#"objectif = { type = "fabriquer", item = "lingot_de_fer", nombre = 1 }"#,
        r#"objectif = { type = "fabriquer", item = "pain", nombre = 1 }"#,
    );
    assert!(
        e.contains("quête `premier_lingot`") && e.contains("aucune recette"),
        "{e}"
    );
}

#[test]
fn un_marchand_qui_rachete_plus_cher_qu_on_ne_vend_ailleurs_est_refuse() {
    let e = erreur(
        r#"{ item = "herbe_medicinale", prix_vente = 3, prix_rachat = 1 }"#,
        r#"{ item = "herbe_medicinale", prix_vente = 3, prix_rachat = 4 }"#,
    );
    assert!(
        e.contains("marchand `apothicaire_mirabelle`") && e.contains("herbe_medicinale"),
        "{e}"
    );
}

#[test]
fn une_chaine_achat_fabrication_revente_qui_cree_de_l_or_est_refusee() {
    // Two ore at 6 make an ingot; buying the ingot back at 13 would print gold.
    let e = erreur(
        r#"{ item = "lingot_de_fer", prix_rachat = 8 }"#,
        r#"{ item = "lingot_de_fer", prix_rachat = 13 }"#,
    );
    assert!(e.contains("lingot_de_fer") && e.contains("12 po"), "{e}");
}

#[test]
fn un_article_sans_aucun_prix_est_refuse() {
    let e = erreur(
        r#"{ item = "lingot_de_fer", prix_rachat = 8 }"#,
        r#"{ item = "lingot_de_fer" }"#,
    );
    assert!(e.contains("ni prix de vente ni prix de rachat"), "{e}");
}

#[test]
fn le_deplacement_du_catalogue_tient_une_rafale_de_deux_secondes_plus_la_gigue() {
    let d = *officiel().deplacement();
    assert!((d.plafond() - d.vitesse_max * 2.25).abs() < 1e-9, "{d:?}");
    assert!(d.rayon_portail > 0.0);
}

#[test]
fn une_vitesse_nulle_ou_absurde_est_refusee() {
    let e = erreur("vitesse_max = 7.7", "vitesse_max = 0.0");
    assert!(
        e.contains("déplacement") && e.contains("vitesse_max"),
        "{e}"
    );
    let e = erreur("vitesse_max = 7.7", "vitesse_max = 1e9");
    assert!(e.contains("vitesse_max"), "{e}");
}

#[test]
fn un_credit_vide_qui_ne_laisserait_jamais_bouger_est_refuse() {
    let sans = CATALOGUE_OFFICIEL
        .replacen("rafale_ms = 2000", "rafale_ms = 0", 1)
        .replacen("gigue_ms = 250", "gigue_ms = 0", 1);
    let e = Catalogue::depuis_toml(&sans)
        .expect_err("refusé")
        .to_string();
    assert!(e.contains("rafale_ms/gigue_ms"), "{e}");
}

#[test]
fn un_rayon_de_portail_negatif_est_refuse() {
    let e = erreur("rayon_portail = 5.0", "rayon_portail = -1.0");
    assert!(e.contains("rayon_portail"), "{e}");
}

#[test]
fn un_champ_de_deplacement_manquant_est_refuse() {
    let e = erreur("gigue_ms = 250\n", "");
    assert!(e.contains("gigue_ms"), "{e}");
}
