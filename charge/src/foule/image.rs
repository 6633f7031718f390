//! A socket's picture of its character's neighbours, kept the way doc/protocole.md tells a
//! client to (« Intérêt ») — start from `monde.zone`'s `presents`, add or update on
//! `monde.apparitions` and `monde.deplacements`, remove on `monde.disparitions` — and checked
//! against `monde.proches`: every character the server says is within the radius (inside
//! the interest area) must be in the picture, where it stands give or take how far it can
//! have walked since (one tick and a round trip at the maximum speed, plus a margin).

use std::collections::HashMap;

use serde_json::Value;

/// The neighbours one socket knows of, by id, with where it last heard they stand.
#[derive(Debug, Clone, Default)]
pub(crate) struct Image {
    moi: String,
    voisins: HashMap<String, (f64, f64)>,
}

/// One comparison of a picture with `monde.proches`, or several added up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Controle {
    /// `monde.proches` answers compared.
    pub(crate) appels: u64,
    /// Neighbours the server named.
    pub(crate) voisins: u64,
    /// Named by the server, absent from the picture.
    pub(crate) manquants: u64,
    /// In the picture, but further than the tolerance from where the server has them.
    pub(crate) mal_places: u64,
    /// The largest distance between the picture and the server, metres.
    pub(crate) ecart_max: f64,
}

impl Controle {
    /// Adds `autre` into this one.
    pub(crate) fn ajouter(&mut self, autre: &Self) {
        self.appels += autre.appels;
        self.voisins += autre.voisins;
        self.manquants += autre.manquants;
        self.mal_places += autre.mal_places;
        self.ecart_max = self.ecart_max.max(autre.ecart_max);
    }
}

fn position(v: &Value) -> Option<(f64, f64)> {
    Some((v["x"].as_f64()?, v["y"].as_f64()?))
}

impl Image {
    /// An empty picture for character `moi` (which it never holds).
    pub(crate) fn new(moi: &str) -> Self {
        Self {
            moi: moi.to_owned(),
            voisins: HashMap::new(),
        }
    }

    /// How many neighbours it holds.
    pub(crate) fn len(&self) -> usize {
        self.voisins.len()
    }

    fn noter(&mut self, entree: &Value) {
        if let (Some(id), Some(p)) = (entree["joueur_id"].as_str(), position(&entree["position"]))
            && id != self.moi
        {
            self.voisins.insert(id.to_owned(), p);
        }
    }

    /// Starts again from `monde.zone`'s answer (its `presents`).
    pub(crate) fn depuis_zone(&mut self, vue: &Value) {
        self.voisins.clear();
        for p in vue["presents"].as_array().into_iter().flatten() {
            self.noter(p);
        }
    }

    /// A push (its method and params); those for another character are ignored.
    pub(crate) fn pousse(&mut self, methode: &str, params: &Value) {
        let pour_moi = || params["joueur_id"].as_str().is_none_or(|j| j == self.moi);
        match methode {
            "monde.deplacements" => {
                for d in params["deplacements"].as_array().into_iter().flatten() {
                    self.noter(d);
                }
            }
            "monde.apparitions" if pour_moi() => {
                for a in params["apparitions"].as_array().into_iter().flatten() {
                    self.noter(a);
                }
            }
            "monde.disparitions" if pour_moi() => {
                for id in params["disparitions"].as_array().into_iter().flatten() {
                    if let Some(id) = id.as_str() {
                        self.voisins.remove(id);
                    }
                }
            }
            _ => {}
        }
    }

    /// Compares `monde.proches`'s answer with the picture, a neighbour further than
    /// `tolerance` metres from where the picture has it counting as misplaced.
    pub(crate) fn comparer(&self, reponse: &Value, tolerance: f64) -> Controle {
        let mut c = Controle {
            appels: 1,
            ..Controle::default()
        };
        for p in reponse["proches"].as_array().into_iter().flatten() {
            let (Some(id), Some(la)) = (p["joueur_id"].as_str(), position(&p["position"])) else {
                continue;
            };
            if id == self.moi {
                continue;
            }
            c.voisins += 1;
            match self.voisins.get(id) {
                None => c.manquants += 1,
                Some(ici) => {
                    let ecart = (ici.0 - la.0).hypot(ici.1 - la.1);
                    c.ecart_max = c.ecart_max.max(ecart);
                    if ecart > tolerance {
                        c.mal_places += 1;
                    }
                }
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entree(id: &str, x: f64, y: f64) -> Value {
        json!({ "joueur_id": id, "nom": id, "zone": "z", "position": { "x": x, "y": y } })
    }

    fn image() -> Image {
        let mut i = Image::new("moi");
        i.depuis_zone(&json!({ "presents": [entree("moi", 10.0, 10.0), entree("a", 12.0, 10.0)] }));
        i
    }

    #[test]
    fn l_image_part_de_monde_zone_sans_son_personnage() {
        let i = image();
        assert_eq!(i.len(), 1);
        assert_eq!(i.voisins["a"], (12.0, 10.0));
    }

    #[test]
    fn les_pousses_ajoutent_deplacent_et_retirent_les_voisins() {
        let mut i = image();
        i.pousse(
            "monde.apparitions",
            &json!({ "joueur_id": "moi", "zone": "z", "apparitions": [entree("b", 30.0, 30.0)] }),
        );
        i.pousse(
            "monde.deplacements",
            &json!({ "zone": "z", "cellule": "0_0",
                     "deplacements": [entree("a", 13.0, 10.0), entree("moi", 11.0, 10.0), entree("c", 5.0, 5.0)] }),
        );
        assert_eq!(i.len(), 3);
        assert_eq!(i.voisins["a"], (13.0, 10.0));
        i.pousse(
            "monde.disparitions",
            &json!({ "joueur_id": "moi", "zone": "z", "disparitions": ["b", "inconnu"] }),
        );
        assert!(!i.voisins.contains_key("b"));
        // Addressed to another character of the account: not this picture's business.
        i.pousse(
            "monde.disparitions",
            &json!({ "joueur_id": "autre", "zone": "z", "disparitions": ["a"] }),
        );
        assert!(i.voisins.contains_key("a"));
        i.pousse("chat.message", &json!({ "texte": "bonjour" }));
        assert_eq!(i.len(), 2);
        i.depuis_zone(&json!({ "presents": [] }));
        assert_eq!(i.len(), 0);
    }

    #[test]
    fn monde_proches_se_compare_a_l_image() {
        let i = image();
        let proches = json!({ "proches": [
            { "joueur_id": "a", "nom": "a", "position": { "x": 14.0, "y": 10.0 }, "distance": 4.0 },
            { "joueur_id": "b", "nom": "b", "position": { "x": 20.0, "y": 10.0 }, "distance": 10.0 },
        ] });
        let c = i.comparer(&proches, 3.0);
        assert_eq!(
            c,
            Controle {
                appels: 1,
                voisins: 2,
                manquants: 1,
                mal_places: 0,
                ecart_max: 2.0
            }
        );
        let c = i.comparer(&proches, 1.5);
        assert_eq!((c.manquants, c.mal_places), (1, 1));
        let mut total = Controle::default();
        total.ajouter(&c);
        total.ajouter(&i.comparer(&json!({ "proches": [] }), 1.0));
        assert_eq!((total.appels, total.voisins, total.ecart_max), (2, 2, 2.0));
    }
}
