//! Whole-catalog checks that serde cannot do: every reference resolves, every number is in its
//! range, quests have no prerequisite cycle, and merchants and recipes cannot be chained into a
//! gold fountain. Each error names the entry and the field at fault.

use std::collections::{BTreeMap, BTreeSet};

use strum::IntoEnumIterator;

use super::{Donnees, Fourchette, LigneItem, Objectif};
use crate::valeurs::{Classe, CodeItem, CodeQuete, Or};

/// Why a catalog was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErreurCatalogue {
    /// Not TOML, or a value of the wrong shape (the message gives line and column).
    #[error("catalogue illisible : {0}")]
    Syntaxe(String),
    /// An entry refers to something the catalog does not define.
    #[error("{entree} : le champ `{champ}` désigne {genre} inconnu « {reference} »")]
    ReferenceInconnue {
        /// The entry at fault, e.g. ``rencontre `meute_de_loups` ``.
        entree: String,
        /// The field holding the reference.
        champ: &'static str,
        /// What kind of thing it should name.
        genre: &'static str,
        /// The unknown name.
        reference: String,
    },
    /// A value out of its range.
    #[error("{entree} : le champ `{champ}` {raison}")]
    ValeurInvalide {
        /// The entry at fault.
        entree: String,
        /// The field.
        champ: &'static str,
        /// What is wrong, in words.
        raison: String,
    },
    /// Quests that require each other.
    #[error("les prérequis des quêtes forment un cycle passant par « {0} »")]
    CyclePrerequis(CodeQuete),
    /// Buying from one merchant and selling to another (or crafting in between) makes gold
    /// from nothing.
    #[error("{entree} : {raison}")]
    Arbitrage {
        /// The entry at fault.
        entree: String,
        /// How the loop makes gold.
        raison: String,
    },
}

type Resultat = Result<(), ErreurCatalogue>;

fn invalide(entree: impl Into<String>, champ: &'static str, raison: impl Into<String>) -> Resultat {
    Err(ErreurCatalogue::ValeurInvalide {
        entree: entree.into(),
        champ,
        raison: raison.into(),
    })
}

fn exige(condition: bool, entree: &str, champ: &'static str, raison: &str) -> Resultat {
    if condition {
        Ok(())
    } else {
        invalide(entree, champ, raison)
    }
}

fn inconnu(entree: &str, champ: &'static str, genre: &'static str, reference: &str) -> Resultat {
    Err(ErreurCatalogue::ReferenceInconnue {
        entree: entree.to_owned(),
        champ,
        genre,
        reference: reference.to_owned(),
    })
}

impl Donnees {
    pub(super) fn valider(&self) -> Resultat {
        self.valider_regles()?;
        self.valider_deplacement()?;
        self.valider_classes()?;
        self.valider_items()?;
        self.valider_monstres()?;
        self.valider_zones()?;
        self.valider_rencontres()?;
        self.valider_recettes()?;
        self.valider_marchands()?;
        self.valider_quetes()?;
        self.valider_arbitrages()
    }

    fn connait_item(&self, entree: &str, champ: &'static str, item: &CodeItem) -> Resultat {
        if self.items.contains_key(item) {
            Ok(())
        } else {
            inconnu(entree, champ, "un item", item.as_str())
        }
    }

    fn connait_lignes(&self, entree: &str, champ: &'static str, lignes: &[LigneItem]) -> Resultat {
        lignes
            .iter()
            .try_for_each(|l| self.connait_item(entree, champ, &l.item))
    }

    fn niveau_possible(&self, entree: &str, champ: &'static str, niveau: u32) -> Resultat {
        let max = self.regles.niveau_max.valeur();
        exige(
            niveau <= max,
            entree,
            champ,
            &format!("dépasse le niveau maximum {max}"),
        )
    }

    fn valider_regles(&self) -> Resultat {
        let r = &self.regles;
        let e = "règles";
        exige(
            r.niveau_max.valeur() >= 2,
            e,
            "niveau_max",
            "doit valoir au moins 2",
        )?;
        exige(
            (1..=5).contains(&r.taille_groupe_max),
            e,
            "taille_groupe_max",
            "doit être entre 1 et 5",
        )?;
        exige(
            r.personnages_par_compte >= 1,
            e,
            "personnages_par_compte",
            "doit valoir au moins 1",
        )?;
        exige(
            r.capacite_inventaire >= 1,
            e,
            "capacite_inventaire",
            "doit valoir au moins 1",
        )?;
        exige(r.tours_max >= 1, e, "tours_max", "doit valoir au moins 1")?;
        exige(
            r.duree_tour_secondes >= 1,
            e,
            "duree_tour_secondes",
            "doit valoir au moins 1",
        )?;
        exige(
            r.rayon_interet > 0.0,
            e,
            "rayon_interet",
            "doit être positif",
        )?;
        exige(
            r.cellule_interet >= r.rayon_interet,
            e,
            "cellule_interet",
            "doit valoir au moins rayon_interet",
        )?;
        if !self.zones.contains_key(&r.zone_depart) {
            return inconnu(e, "zone_depart", "une zone", r.zone_depart.as_str());
        }
        self.connait_lignes(e, "kit_depart", &r.kit_depart)
    }

    fn valider_deplacement(&self) -> Resultat {
        let d = &self.deplacement;
        let e = "déplacement";
        exige(
            d.vitesse_max.is_finite() && d.vitesse_max > 0.0 && d.vitesse_max <= 100.0,
            e,
            "vitesse_max",
            "doit être un nombre de mètres par seconde entre 0 (exclu) et 100",
        )?;
        exige(
            d.rafale_ms <= 60_000,
            e,
            "rafale_ms",
            "doit valoir au plus 60 000 (une minute)",
        )?;
        exige(
            d.gigue_ms <= 5_000,
            e,
            "gigue_ms",
            "doit valoir au plus 5 000",
        )?;
        // An empty budget refuses every step: the character could never move.
        exige(
            d.rafale_ms + d.gigue_ms >= 100,
            e,
            "rafale_ms/gigue_ms",
            "doivent ensemble valoir au moins 100 ms",
        )?;
        exige(
            d.rayon_portail.is_finite() && d.rayon_portail > 0.0,
            e,
            "rayon_portail",
            "doit être un nombre de mètres positif",
        )
    }

    fn valider_classes(&self) -> Resultat {
        for classe in Classe::iter() {
            let entree = format!("classe `{classe}`");
            let Some(def) = self.classes.get(&classe) else {
                return invalide("classes", "classes", format!("la classe {classe} manque"));
            };
            exige(
                def.pv.base >= 1,
                &entree,
                "pv",
                "doit valoir au moins 1 au niveau 1",
            )?;
            exige(
                def.attaque.base >= 1,
                &entree,
                "attaque",
                "doit valoir au moins 1 au niveau 1",
            )?;
            exige(
                (1..=1000).contains(&def.menace_pct),
                &entree,
                "menace_pct",
                "doit être entre 1 et 1000",
            )?;
            exige(
                def.critique_pct <= 100,
                &entree,
                "critique_pct",
                "est un pourcentage (≤ 100)",
            )?;
        }
        let seuils = &self.progression.xp_cumulee;
        let attendus = self.regles.niveau_max.valeur() as usize - 1;
        exige(
            seuils.len() == attendus,
            "progression",
            "xp_cumulee",
            &format!(
                "doit donner {attendus} seuils (niveaux 2 à {})",
                self.regles.niveau_max
            ),
        )?;
        exige(
            seuils.first().is_some_and(|&s| s > 0) && seuils.windows(2).all(|w| w[0] < w[1]),
            "progression",
            "xp_cumulee",
            "doit être strictement croissante et commencer au-dessus de 0",
        )
    }

    fn valider_items(&self) -> Resultat {
        for (code, item) in &self.items {
            exige(
                item.pile_max >= 1,
                &format!("item `{code}`"),
                "pile_max",
                "doit valoir au moins 1",
            )?;
        }
        Ok(())
    }

    fn valider_monstres(&self) -> Resultat {
        for (code, m) in &self.monstres {
            let entree = format!("monstre `{code}`");
            self.niveau_possible(&entree, "niveau", m.niveau.valeur())?;
            exige(m.pv >= 1, &entree, "pv", "doit valoir au moins 1")?;
            exige(m.attaque >= 1, &entree, "attaque", "doit valoir au moins 1")?;
            fourchette(&entree, "or", m.or, 0)?;
            for ligne in &m.butin {
                self.connait_item(&entree, "butin", &ligne.item)?;
                exige(
                    (1..=100).contains(&ligne.chance_pct),
                    &entree,
                    "butin.chance_pct",
                    "doit être entre 1 et 100",
                )?;
                fourchette(&entree, "butin.quantite", ligne.quantite, 1)?;
            }
            if let Some(frappe) = m.frappe_de_zone {
                exige(
                    frappe.tous_les_n_tours >= 1,
                    &entree,
                    "frappe_de_zone.tous_les_n_tours",
                    "doit valoir au moins 1",
                )?;
                exige(
                    frappe.puissance_pct >= 1,
                    &entree,
                    "frappe_de_zone.puissance_pct",
                    "doit valoir au moins 1",
                )?;
            }
        }
        Ok(())
    }

    fn valider_zones(&self) -> Resultat {
        for (code, z) in &self.zones {
            let entree = format!("zone `{code}`");
            exige(
                z.largeur.is_finite()
                    && z.largeur > 0.0
                    && z.hauteur.is_finite()
                    && z.hauteur > 0.0,
                &entree,
                "largeur/hauteur",
                "doivent être des nombres positifs",
            )?;
            exige(
                z.contient(z.depart),
                &entree,
                "depart",
                "est hors de la zone",
            )?;
            for p in &z.portails {
                let Some(destination) = self.zones.get(&p.vers) else {
                    return inconnu(&entree, "portails.vers", "une zone", p.vers.as_str());
                };
                exige(
                    &p.vers != code,
                    &entree,
                    "portails.vers",
                    "mène à la zone elle-même",
                )?;
                exige(
                    z.contient(p.position),
                    &entree,
                    "portails.position",
                    "est hors de la zone",
                )?;
                exige(
                    destination.contient(p.arrivee),
                    &entree,
                    "portails.arrivee",
                    "est hors de la zone d'arrivée",
                )?;
                self.niveau_possible(&entree, "portails.niveau_min", p.niveau_min.valeur())?;
            }
        }
        Ok(())
    }

    fn valider_rencontres(&self) -> Resultat {
        for (code, r) in &self.rencontres {
            let entree = format!("rencontre `{code}`");
            if !self.zones.contains_key(&r.zone) {
                return inconnu(&entree, "zone", "une zone", r.zone.as_str());
            }
            self.niveau_possible(&entree, "niveau", r.niveau.valeur())?;
            exige(
                (1..=8).contains(&r.monstres.len()),
                &entree,
                "monstres",
                "doit compter de 1 à 8 monstres",
            )?;
            for m in &r.monstres {
                if !self.monstres.contains_key(m) {
                    return inconnu(&entree, "monstres", "un monstre", m.as_str());
                }
            }
        }
        Ok(())
    }

    fn valider_recettes(&self) -> Resultat {
        for (code, r) in &self.recettes {
            let entree = format!("recette `{code}`");
            exige(
                !r.ingredients.is_empty(),
                &entree,
                "ingredients",
                "ne peut pas être vide",
            )?;
            self.connait_lignes(&entree, "ingredients", &r.ingredients)?;
            self.connait_item(&entree, "produit", &r.produit.item)?;
            exige(
                r.ingredients.iter().all(|i| i.item != r.produit.item),
                &entree,
                "ingredients",
                "ne peut pas contenir le produit",
            )?;
            let distincts: BTreeSet<_> = r.ingredients.iter().map(|i| &i.item).collect();
            exige(
                distincts.len() == r.ingredients.len(),
                &entree,
                "ingredients",
                "cite deux fois le même item",
            )?;
        }
        Ok(())
    }

    fn valider_marchands(&self) -> Resultat {
        for (code, m) in &self.marchands {
            let entree = format!("marchand `{code}`");
            if !self.zones.contains_key(&m.zone) {
                return inconnu(&entree, "zone", "une zone", m.zone.as_str());
            }
            for a in &m.articles {
                self.connait_item(&entree, "articles.item", &a.item)?;
                exige(
                    a.prix_vente.is_some() || a.prix_rachat.is_some(),
                    &entree,
                    "articles",
                    &format!(
                        "l'article `{}` n'a ni prix de vente ni prix de rachat",
                        a.item
                    ),
                )?;
                exige(
                    a.prix_vente.is_none_or(|p| !p.est_nul()),
                    &entree,
                    "articles.prix_vente",
                    &format!("l'article `{}` ne peut pas être vendu pour rien", a.item),
                )?;
            }
        }
        Ok(())
    }

    fn valider_quetes(&self) -> Resultat {
        for (code, q) in &self.quetes {
            let entree = format!("quête `{code}`");
            self.niveau_possible(&entree, "niveau_min", q.niveau_min.valeur())?;
            for p in &q.prerequis {
                if !self.quetes.contains_key(p) {
                    return inconnu(&entree, "prerequis", "une quête", p.as_str());
                }
            }
            match &q.objectif {
                Objectif::Vaincre { monstre, nombre } => {
                    if !self.monstres.contains_key(monstre) {
                        return inconnu(
                            &entree,
                            "objectif.monstre",
                            "un monstre",
                            monstre.as_str(),
                        );
                    }
                    exige(
                        *nombre >= 1,
                        &entree,
                        "objectif.nombre",
                        "doit valoir au moins 1",
                    )?;
                }
                Objectif::Fabriquer { item, nombre } => {
                    self.connait_item(&entree, "objectif.item", item)?;
                    exige(
                        self.recettes.values().any(|r| &r.produit.item == item),
                        &entree,
                        "objectif.item",
                        "n'est produit par aucune recette",
                    )?;
                    exige(
                        *nombre >= 1,
                        &entree,
                        "objectif.nombre",
                        "doit valoir au moins 1",
                    )?;
                }
                Objectif::AtteindreNiveau { niveau } => {
                    self.niveau_possible(&entree, "objectif.niveau", niveau.valeur())?;
                }
                Objectif::GagnerCombat { nombre, .. } => {
                    exige(
                        *nombre >= 1,
                        &entree,
                        "objectif.nombre",
                        "doit valoir au moins 1",
                    )?;
                }
            }
            self.connait_lignes(&entree, "recompense.items", &q.recompense.items)?;
        }
        self.sans_cycle_de_prerequis()
    }

    fn sans_cycle_de_prerequis(&self) -> Resultat {
        // Depth-first search with the usual three colours; the catalog is small.
        #[derive(Clone, Copy, PartialEq)]
        enum Visite {
            EnCours,
            Fini,
        }
        fn visiter<'a>(
            cat: &'a Donnees,
            code: &'a CodeQuete,
            etats: &mut BTreeMap<&'a CodeQuete, Visite>,
        ) -> Resultat {
            match etats.get(code) {
                Some(Visite::Fini) => return Ok(()),
                Some(Visite::EnCours) => return Err(ErreurCatalogue::CyclePrerequis(code.clone())),
                None => {}
            }
            etats.insert(code, Visite::EnCours);
            for p in &cat.quetes[code].prerequis {
                visiter(cat, p, etats)?;
            }
            etats.insert(code, Visite::Fini);
            Ok(())
        }
        let mut etats = BTreeMap::new();
        self.quetes
            .keys()
            .try_for_each(|code| visiter(self, code, &mut etats))
    }

    /// No loop through merchants and recipes may turn gold into more gold: no merchant buys an
    /// item back for more than the cheapest way to obtain it with gold (buying it, or buying the
    /// ingredients of a recipe that makes it, recursively).
    fn valider_arbitrages(&self) -> Resultat {
        let mut cout: BTreeMap<&CodeItem, u64> = BTreeMap::new();
        for m in self.marchands.values() {
            for a in &m.articles {
                if let Some(prix) = a.prix_vente {
                    let c = cout.entry(&a.item).or_insert(u64::MAX);
                    *c = (*c).min(prix.pieces());
                }
            }
        }
        // Relax recipes until nothing gets cheaper: each pass shortens some chain by one recipe,
        // so as many passes as recipes reach the fixpoint. The per-unit cost rounds down, which
        // can only make the check stricter.
        for _ in 0..=self.recettes.len() {
            let mut change = false;
            for r in self.recettes.values() {
                let total = r.ingredients.iter().try_fold(r.cout.pieces(), |acc, i| {
                    acc.checked_add(
                        cout.get(&i.item)?
                            .checked_mul(u64::from(i.quantite.valeur()))?,
                    )
                });
                let Some(total) = total else { continue };
                let unitaire = total / u64::from(r.produit.quantite.valeur());
                let actuel = cout.entry(&r.produit.item).or_insert(u64::MAX);
                if unitaire < *actuel {
                    *actuel = unitaire;
                    change = true;
                }
            }
            if !change {
                break;
            }
        }
        for (code, m) in &self.marchands {
            for a in &m.articles {
                if let (Some(rachat), Some(&obtention)) = (a.prix_rachat, cout.get(&a.item))
                    && rachat.pieces() > obtention
                {
                    return Err(ErreurCatalogue::Arbitrage {
                        entree: format!("marchand `{code}`"),
                        raison: format!(
                            "rachète `{}` {rachat} alors qu'on l'obtient pour {} ailleurs",
                            a.item,
                            Or::new(obtention)
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

fn fourchette(entree: &str, champ: &'static str, f: Fourchette, min: u32) -> Resultat {
    exige(
        f.min >= min && f.min <= f.max,
        entree,
        champ,
        &format!("doit vérifier {min} ≤ min ≤ max"),
    )
}
