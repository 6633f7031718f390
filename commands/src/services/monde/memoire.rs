//! What an instance keeps in memory about characters (owners and names, classes, hot
//! positions): a map bounded in size, cleared whole when full. What it held is read again
//! from where it came on the next miss, so clearing loses nothing but a read.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use domain::ids::JoueurId;
use uuid::Uuid;

/// Entries kept before the map is cleared.
const TAILLE_MAX: usize = 100_000;

/// A bounded map by character.
#[derive(Debug)]
pub(super) struct Memoire<V> {
    carte: Mutex<HashMap<JoueurId, V>>,
}

impl<V> Default for Memoire<V> {
    fn default() -> Self {
        Self {
            carte: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Memoire<V> {
    fn carte(&self) -> MutexGuard<'_, HashMap<JoueurId, V>> {
        self.carte.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What is kept for the character.
    pub(super) fn lire(&self, joueur: JoueurId) -> Option<V> {
        self.carte().get(&joueur).cloned()
    }

    /// Of these characters, what is kept (through `extraire`), and the ids of the others.
    pub(super) fn trier<T>(
        &self,
        joueurs: &[JoueurId],
        extraire: impl Fn(&V) -> T,
    ) -> (HashMap<JoueurId, T>, Vec<Uuid>) {
        let carte = self.carte();
        let mut connus = HashMap::with_capacity(joueurs.len());
        let mut manquants = HashSet::new();
        for j in joueurs {
            match carte.get(j) {
                Some(v) => {
                    connus.insert(*j, extraire(v));
                }
                None => {
                    manquants.insert(j.uuid());
                }
            }
        }
        (connus, manquants.into_iter().collect())
    }

    /// Keeps these, clearing the map first if they would fill it.
    pub(super) fn garder(&self, entrees: impl IntoIterator<Item = (JoueurId, V)>) {
        let entrees: Vec<(JoueurId, V)> = entrees.into_iter().collect();
        let mut carte = self.carte();
        let nouvelles = entrees
            .iter()
            .filter(|(j, _)| !carte.contains_key(j))
            .count();
        if carte.len() + nouvelles > TAILLE_MAX {
            carte.clear();
        }
        carte.extend(entrees);
    }

    /// Forgets these characters.
    pub(super) fn oublier(&self, joueurs: &[JoueurId]) {
        let mut carte = self.carte();
        for j in joueurs {
            carte.remove(j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joueur(n: u64) -> JoueurId {
        JoueurId::from_uuid(Uuid::from_u64_pair(3, n))
    }

    #[test]
    fn une_memoire_garde_lit_trie_oublie_et_se_vide_pleine() {
        let m = Memoire::<u32>::default();
        m.garder([(joueur(1), 10), (joueur(2), 20)]);
        assert_eq!(m.lire(joueur(1)), Some(10));
        let (connus, manquants) = m.trier(&[joueur(1), joueur(3), joueur(3)], |v| v + 1);
        assert_eq!(connus, HashMap::from([(joueur(1), 11)]));
        assert_eq!(manquants, vec![joueur(3).uuid()], "une fois chacun");
        m.oublier(&[joueur(1)]);
        assert_eq!(m.lire(joueur(1)), None);
        // Updating a kept entry never clears; a new one past the bound does.
        m.garder((0..TAILLE_MAX as u64 - 1).map(|n| (joueur(100 + n), 0)));
        assert_eq!(m.carte().len(), TAILLE_MAX);
        m.garder([(joueur(2), 21)]);
        assert_eq!(m.lire(joueur(2)), Some(21));
        m.garder([(joueur(7), 70)]);
        assert_eq!(m.carte().len(), 1);
        assert_eq!(m.lire(joueur(7)), Some(70));
    }
}
