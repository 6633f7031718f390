//! **Chat**: the rules of a message's text, without an aggregate (messages live in Redis
//! streams, Service Chat). This module decides, with no I/O, what a message says once cleaned:
//! control characters stripped, a length limit, forbidden words masked; and names the
//! refusals of the chat with their stable codes.

/// The longest message, in characters (after cleaning).
pub const LONGUEUR_MAX: usize = 500;

/// Words masked with `*` wherever they stand as a whole word, whatever their case. A short
/// list on purpose: moderation (muting) handles the rest.
pub const MOTS_FILTRES: &[&str] = &[
    "merde", "connard", "connasse", "salaud", "salope", "encule", "enculé", "batard", "bâtard",
    "putain", "pute",
];

/// Why a message is refused, or a channel closed to a character.
///
/// Each refusal has a stable code, its variant's name in SCREAMING_SNAKE_CASE (`Muet` →
/// `MUET`): clients match on it.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErreurChat {
    /// Nothing left once control characters and spaces are removed.
    #[error("message vide")]
    MessageVide,
    /// Longer than [`LONGUEUR_MAX`].
    #[error("message trop long : au plus {max} caractères")]
    MessageTropLong {
        /// The limit.
        max: usize,
    },
    /// Too many messages in a short time.
    #[error("trop de messages, réessayez dans {reessayer_dans_s} s")]
    TropDeMessages {
        /// Seconds until the window reopens.
        reessayer_dans_s: u64,
    },
    /// An admin muted the character.
    #[error("personnage réduit au silence pour encore {reste_s} s")]
    Muet {
        /// Seconds left.
        reste_s: u64,
    },
    /// The character is not a member of the channel (a combat it does not take part in).
    #[error("ce personnage n'est pas membre de ce canal")]
    PasMembre,
    /// A whisper to oneself.
    #[error("un message privé s'adresse à un autre personnage")]
    AvecSoiMeme,
    /// The history cursor is not a message id.
    #[error("curseur d'historique invalide")]
    CurseurInvalide,
}

/// Cleans a message: line breaks and tabs become spaces, other control characters, the
/// bidirectional overrides (which can disguise a message's text) and the zero-width
/// characters (which can split a filtered word) are removed, the ends are
/// trimmed, forbidden words are masked. Refuses an empty or too long result.
pub fn nettoyer(brut: &str) -> Result<String, ErreurChat> {
    let propre: String = brut
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() || est_bidi(c) || est_invisible(c) => None,
            c => Some(c),
        })
        .collect();
    let propre = propre.trim();
    if propre.is_empty() {
        return Err(ErreurChat::MessageVide);
    }
    if propre.chars().count() > LONGUEUR_MAX {
        return Err(ErreurChat::MessageTropLong { max: LONGUEUR_MAX });
    }
    Ok(filtrer(propre))
}

/// Zero-width characters: invisible, they could split a filtered word (`mer\u{200B}de`).
fn est_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

fn est_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Masks every forbidden word (a whole run of letters and digits, compared in lowercase)
/// with as many `*` as it has characters.
pub fn filtrer(texte: &str) -> String {
    let mut sortie = String::with_capacity(texte.len());
    let mut mot = String::new();
    let vider = |mot: &mut String, sortie: &mut String| {
        if MOTS_FILTRES.contains(&mot.to_lowercase().as_str()) {
            sortie.extend(std::iter::repeat_n('*', mot.chars().count()));
        } else {
            sortie.push_str(mot);
        }
        mot.clear();
    };
    for c in texte.chars() {
        if c.is_alphanumeric() {
            mot.push(c);
        } else {
            vider(&mut mot, &mut sortie);
            sortie.push(c);
        }
    }
    vider(&mut mot, &mut sortie);
    sortie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_message_ordinaire_passe_tel_quel() {
        assert_eq!(
            nettoyer("Bonjour à tous !").as_deref(),
            Ok("Bonjour à tous !")
        );
    }

    #[test]
    fn les_caracteres_de_controle_sont_retires() {
        assert_eq!(
            nettoyer("  a\u{0}b\u{7}\nc\u{1b}[31m \u{202E}d  ").as_deref(),
            Ok("ab c[31m d")
        );
    }

    #[test]
    fn un_message_vide_ou_de_seuls_controles_est_refuse() {
        assert_eq!(nettoyer(""), Err(ErreurChat::MessageVide));
        assert_eq!(nettoyer(" \u{0}\n\t "), Err(ErreurChat::MessageVide));
    }

    #[test]
    fn un_message_trop_long_est_refuse_mais_pas_a_la_limite() {
        let limite = "é".repeat(LONGUEUR_MAX);
        assert_eq!(nettoyer(&limite).as_deref(), Ok(limite.as_str()));
        assert_eq!(
            nettoyer(&format!("{limite}x")),
            Err(ErreurChat::MessageTropLong { max: LONGUEUR_MAX })
        );
    }

    #[test]
    fn les_mots_filtres_sont_masques_quelle_que_soit_leur_casse() {
        assert_eq!(
            filtrer("Quel PUTAIN de loup, merde!"),
            "Quel ****** de loup, *****!"
        );
    }

    #[test]
    fn un_caractere_invisible_ne_coupe_pas_un_mot_filtre() {
        assert_eq!(
            nettoyer("mer\u{200B}de, pu\u{200C}ta\u{200D}in\u{2060} \u{FEFF}salaud").as_deref(),
            Ok("*****, ****** ******")
        );
    }

    #[test]
    fn un_mot_filtre_dans_un_autre_mot_reste() {
        assert_eq!(filtrer("computation"), "computation");
    }
}
