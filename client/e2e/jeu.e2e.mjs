// End-to-end: the real server (`mmo serve`, fresh database, free port, own Redis/NATS
// prefixes) serving the built client, and two headless Chromium browsers on two accounts.
// They register, create a Tank and a DPS, see each other move on the canvas, chat in the zone,
// fight the wolves together until victory, see their XP, loot and ledger, buy and craft,
// trade with each other; then one loses its socket and catches up on what it missed.
// A screenshot of every screen goes to doc/client/. The server, the browsers, the failure
// report and the environment variables are commun.mjs's.
import {
  attendre, capture, creerPersonnage, demarrerServeur, etape, executer, idDe, inscrire, lancerChromium, log,
  nouveauJoueur, pause, tid,
} from './commun.mjs';

const LIMITE_MS = 170_000;

async function position(page) {
  const p = page.locator(tid('position'));
  return { x: Number(await p.getAttribute('data-x')), y: Number(await p.getAttribute('data-y')) };
}

async function vuPar(page, id) {
  // Read in one go in the page: a count, then attributes, would wait out the locator's timeout
  // for an entry that disappeared in between (a neighbour leaving the area does just that).
  return page.evaluate((selecteur) => {
    const li = document.querySelector(selecteur);
    return li ? { x: Number(li.getAttribute('data-x')), y: Number(li.getAttribute('data-y')) } : null;
  }, `${tid('presents')} li[data-joueur="${id}"]`);
}

/** One action for whoever may act on this page; true when it acted. */
async function jouerUnTour(page, classe, nom) {
  if (await page.locator(tid('issue')).count()) return false;
  const actions = page.locator(`${tid('actions')}[data-peut-agir="true"]`);
  if (!(await actions.count())) return false;
  if (classe === 'Tank') {
    const vises = await page.locator('.monstre:not(.vaincu) .vise').allTextContents();
    if (vises.some((t) => !t.includes(nom))) {
      await page.click(tid('action-provoquer'), { timeout: 1000 });
      return true;
    }
  }
  await page.click(tid('action-attaquer'), { timeout: 1000 });
  return true;
}

async function principal() {
  let url;
  // Short-lived access tokens: the client refreshes them, and re-authenticates its socket,
  // several times during the run (checked at the end: no socket lost to an expiry).
  await etape('serveur', async () => { url = await demarrerServeur({ MMO_DUREE_ACCES: '30' }); log(`  ${url}`); });
  await etape('chromium', lancerChromium);

  const A = await nouveauJoueur('A', url);
  const B = await nouveauJoueur('B', url);
  // A fresh database each run: the names are free.
  const loginA = 'tania', loginB = 'damien';
  const nomA = 'Brennos', nomB = 'Sylvaine';

  await etape('une erreur de connexion se lit comme une phrase', async () => {
    await A.fill(tid('login'), loginA);
    await A.fill(tid('mot-de-passe'), 'pas le bon mot de passe');
    await A.click(tid('valider'));
    await A.locator(tid('erreur')).filter({ hasText: 'Nom de compte ou mot de passe incorrect' }).waitFor();
    await capture(A, '01-connexion');
  });

  await etape('inscription et personnages (Tank, DPS)', async () => {
    await inscrire(A, loginA);
    await creerPersonnage(A, nomA, 'Tank', '02-personnages');
    await inscrire(B, loginB);
    await creerPersonnage(B, nomB, 'DPS', null, '02b-personnages');
  });
  const idA = await idDe(A), idB = await idDe(B);
  const jetonA = await A.evaluate(() => JSON.parse(sessionStorage.getItem('mmo.session')).jeton_acces);

  await etape('chacun voit l’autre bouger sur la carte (touches et clic)', async () => {
    // B walks right with the arrow key: A sees B appear and move.
    await B.locator(tid('canvas')).focus();
    await B.keyboard.down('ArrowRight');
    await pause(1200);
    await B.keyboard.up('ArrowRight');
    const posB = await position(B);
    if (!(posB.x > 103)) throw new Error(`B n’a pas avancé : ${JSON.stringify(posB)}`);
    // (A step may still be in flight when the key is released: compare with B's latest place.)
    await attendre('A voit B à sa nouvelle place', async () => {
      const v = await vuPar(A, idB);
      return v && Math.abs(v.x - (await position(B)).x) < 0.01;
    });
    // A clicks on the map below-left: B sees A walk there.
    const boite = await A.locator(tid('canvas')).boundingBox();
    await A.mouse.click(boite.x + boite.width * 0.46, boite.y + boite.height * 0.56);
    await attendre('A arrive où il a cliqué', async () => { const p = await position(A); return p.y > 110; });
    await attendre('B voit A en bas', async () => { const v = await vuPar(B, idA); return v && v.y > 110; });
  });

  await etape('chat de zone', async () => {
    await A.fill(tid('chat-saisie'), 'On attaque les loups ?');
    await A.press(tid('chat-saisie'), 'Enter');
    await B.locator(tid('messages')).getByText('On attaque les loups ?').waitFor();
    await B.fill(tid('chat-saisie'), 'Je te suis, lance le combat !');
    await B.press(tid('chat-saisie'), 'Enter');
    await A.locator(tid('messages')).getByText('Je te suis').waitFor();
    await capture(A, '03-monde');
  });

  await etape('quêtes acceptées', async () => {
    await A.click(tid('nav-quetes'));
    await A.click(tid('accepter-rempart'));
    await A.locator(`${tid('quetes-en-cours')} [data-quete="rempart"]`).waitFor();
    await B.click(tid('nav-quetes'));
    await B.click(tid('accepter-lame_affutee'));
    await B.click(tid('accepter-chasse_aux_loups'));
    await B.locator(`${tid('quetes-en-cours')} [data-quete="chasse_aux_loups"]`).waitFor();
    // A refusal shown as a sentence: a level-3 quest at level 1.
    await B.click(tid('accepter-toile_maudite'));
    await B.locator(tid('avis')).getByText('Niveau insuffisant').waitFor();
    await B.click(tid('nav-monde'));
    await A.click(tid('nav-monde'));
  });

  let parts;
  await etape('combat ensemble jusqu’à la victoire', async () => {
    await A.click(tid('combattre-meute_de_loups'));
    await A.waitForURL('**/jeu/combat');
    await A.locator(`${tid('combat')}[data-phase="preparation"]`).waitFor();
    // B joins through the invitation the preparation posted in the zone chat.
    await B.locator(tid('rejoindre-invitation')).first().click();
    await B.waitForURL('**/jeu/combat');
    await A.locator(`.combattant[data-joueur="${idB}"]`).waitFor();
    await A.click(tid('lancer'));
    await A.locator(`${tid('combat')}[data-phase="en_cours"]`).waitFor();
    await B.locator(`${tid('combat')}[data-phase="en_cours"]`).waitFor();
    let photo = false;
    const fin = Date.now() + 90_000;
    while (Date.now() < fin) {
      if (await A.locator(tid('issue')).count() && await B.locator(tid('issue')).count()) break;
      const a = await jouerUnTour(A, 'Tank', nomA).catch(() => false);
      const b = await jouerUnTour(B, 'DPS', nomB).catch(() => false);
      if (!photo && Number(await A.locator(tid('combat')).getAttribute('data-tour')) >= 2) {
        await capture(A, '04-combat');
        photo = true;
      }
      if (!a && !b) await pause(100);
    }
    const issue = await A.locator(tid('issue')).getAttribute('data-issue');
    if (issue !== 'victoire') throw new Error(`issue du combat : ${issue}`);
    await B.locator(`${tid('issue')}[data-issue="victoire"]`).waitFor();
    parts = {};
    for (const el of await A.locator('.part').all()) {
      parts[await el.getAttribute('data-joueur')] = { xp: Number(await el.getAttribute('data-xp')), or: Number(await el.getAttribute('data-or')) };
    }
    log(`  récompenses : ${JSON.stringify(parts)}`);
    if (!(parts[idA]?.xp > 0 && parts[idB]?.xp > 0)) throw new Error('pas d’XP dans la victoire');
    await capture(B, '05-victoire');
  });

  await etape('chacun voit ses récompenses (XP, butin, quête, grand livre)', async () => {
    // XP: the combat's, plus 60 for « Le rempart » (a Tank victory) on A.
    const xpA = parts[idA].xp + 60, xpB = parts[idB].xp;
    await A.locator(`${tid('xp')}[data-xp="${xpA}"]`).waitFor();
    await B.locator(`${tid('xp')}[data-xp="${xpB}"]`).waitFor();
    await A.locator(`${tid('or')}[data-or="${30 + parts[idA].or}"]`).waitFor();
    await B.locator(`${tid('or')}[data-or="${30 + parts[idB].or}"]`).waitFor();
    await B.click(tid('nav-quetes'));
    await B.locator(`${tid('quetes-en-cours')} [data-quete="chasse_aux_loups"][data-progression="2"]`).waitFor();
    await B.locator(`${tid('quetes-en-cours')} [data-quete="lame_affutee"][data-progression="1"]`).waitFor();
    await A.click(tid('nav-quetes'));
    await A.locator(`${tid('quetes-terminees')} [data-quete="rempart"]`).waitFor();
    await capture(B, '06-quetes');
    await A.click(tid('nav-audit'));
    await A.locator(`${tid('historique')} tr`).nth(5).waitFor();
    await attendre('le butin au grand livre', async () => {
      await A.click(tid('recharger-livre'));
      await pause(200);
      return (await A.locator(`${tid('grand-livre')} tr[data-cause="butin"]`).count()) > 0;
    });
  });

  await etape('marchand, artisanat et une erreur lisible', async () => {
    await A.click(tid('nav-inventaire'));
    await A.click(tid('acheter-minerai_de_fer'));
    await A.locator('.case[data-item="minerai_de_fer"][data-quantite="1"]').waitFor();
    await A.click(tid('acheter-minerai_de_fer'));
    await A.locator('.case[data-item="minerai_de_fer"][data-quantite="2"]').waitFor();
    await A.click(tid('fabriquer-lingot_de_fer'));
    await A.locator('.case[data-item="lingot_de_fer"][data-quantite="1"]').waitFor();
    await A.click(tid('acheter-epee_en_fer'));
    await A.locator(tid('erreur')).filter({ hasText: 'Pas assez d’or : 120 po requis' }).waitFor();
  });

  await etape('échange entre les deux joueurs', async () => {
    const orA = Number(await A.locator(tid('or')).getAttribute('data-or'));
    await B.click(tid('nav-monde'));
    await B.locator(`${tid('presents')} li[data-joueur="${idA}"] ${tid('echanger')}`).click();
    await B.waitForURL('**/jeu/inventaire**');
    await B.fill(tid('offre-or'), '5');
    await B.selectOption(tid('offre-item'), 'pain');
    await B.click(tid('proposer-echange'));
    const chezA = A.locator(`${tid('echanges')} .echange[data-statut="ouvert"]`);
    await chezA.waitFor();
    await chezA.locator(tid('accepter-echange')).click();
    await B.locator(`${tid('echanges')} .echange .cote.accepte`).waitFor();
    await capture(A, '07-inventaire');
    await B.locator(`${tid('echanges')} .echange[data-statut="ouvert"] ${tid('accepter-echange')}`).click();
    await A.locator(`${tid('echanges')} .echange[data-statut="conclu"]`).waitFor();
    await A.locator(`${tid('or')}[data-or="${orA + 5}"]`).waitFor();
    await A.locator('.case[data-item="pain"][data-quantite="6"]').waitFor();
    // The ledger now tells the whole story: kit, loot, quest reward, purchases, crafting, trade.
    await A.click(tid('nav-audit'));
    await attendre('l’échange au grand livre', async () => {
      await A.click(tid('recharger-livre'));
      await pause(200);
      return (await A.locator(`${tid('grand-livre')} tr[data-cause="echange"]`).count()) > 0;
    });
    await A.locator(`${tid('grand-livre')} tr[data-cause="echange"]`).last().scrollIntoViewIfNeeded();
    await capture(A, '09-chroniques');
  });

  await etape('connexion perdue : reconnexion et rattrapage', async () => {
    await B.click(tid('nav-inventaire'));
    const avant = await B.evaluate(() => window.__mmo.rattrapes());
    await B.evaluate(() => window.__mmo.couper(2500));
    await B.locator(`${tid('connexion')}[data-etat="reconnexion"]`).waitFor();
    // While B is away, A proposes a trade to B (events for B's account) and speaks in the zone.
    await A.click(tid('nav-monde'));
    await A.locator(`${tid('presents')} li[data-joueur="${idB}"] ${tid('echanger')}`).click();
    await A.fill(tid('offre-or'), '2');
    await A.click(tid('proposer-echange'));
    await A.locator(`${tid('echanges')} .echange[data-statut="ouvert"]`).waitFor();
    await A.fill(tid('chat-saisie'), 'Tu es encore là ?');
    await A.press(tid('chat-saisie'), 'Enter');
    await B.locator(tid('bandeau-reconnexion')).waitFor();
    await capture(B, '10-reconnexion');
    await B.locator(`${tid('connexion')}[data-etat="en_ligne"]`).waitFor({ timeout: 20_000 });
    await B.locator(`${tid('echanges')} .echange[data-statut="ouvert"]`).waitFor();
    await B.locator(tid('messages')).getByText('Tu es encore là ?').waitFor();
    await capture(B, '10b-rattrapage');
    const { reconnexions, rattrapes } = await B.evaluate(() => ({ reconnexions: window.__mmo.reconnexions(), rattrapes: window.__mmo.rattrapes() }));
    log(`  B : ${reconnexions} reconnexion(s), ${rattrapes - avant} événement(s) rattrapé(s)`);
    if (reconnexions < 1 || rattrapes <= avant) throw new Error('pas de rattrapage après la reconnexion');
    await B.click(tid('nav-monde'));
    await capture(B, '08-monde-b');
  });

  await etape('un rechargement de page reprend la partie', async () => {
    await B.reload();
    await B.locator(`${tid('nom')}`).filter({ hasText: nomB }).waitFor();
    await B.locator(`${tid('connexion')}[data-etat="en_ligne"]`).waitFor();
    await B.locator(tid('messages')).getByText('Tu es encore là ?').waitFor();
    await B.locator(`${tid('presents')} li[data-joueur="${idA}"]`).waitFor();
  });

  await etape('un portail vers la Forêt sombre (niveau 2)', async () => {
    // Brennos reached level 2 with the wolves and « Le rempart »: the forest is open to him.
    await A.click(tid('nav-monde'));
    await A.click(tid('aller-foret_sombre'));
    await A.locator(tid('passer-portail')).waitFor({ timeout: 40_000 });
    await A.click(tid('passer-portail'));
    await A.locator(`${tid('zone')}[data-zone="foret_sombre"]`).waitFor();
    await attendre('Sylvaine voit Brennos quitter la plaine', async () => (await vuPar(B, idA)) === null);
    await A.keyboard.down('ArrowRight');
    await pause(1500);
    await A.keyboard.up('ArrowRight');
    await A.fill(tid('chat-saisie'), 'La forêt est bien sombre… quelqu’un ?');
    await A.press(tid('chat-saisie'), 'Enter');
    await A.locator(tid('messages')).getByText('La forêt est bien sombre').waitFor();
    if (await A.locator(tid('messages')).getByText('On attaque les loups ?').count()) throw new Error('le chat de la plaine dans la forêt');
    await capture(A, '11-foret');
  });

  await etape('des jetons de 30 s rafraîchis sans perdre la socket', async () => {
    const { jeton, reconnexions, etat } = await A.evaluate(() => ({
      jeton: JSON.parse(sessionStorage.getItem('mmo.session')).jeton_acces,
      reconnexions: window.__mmo.reconnexions(),
      etat: window.__mmo.etat(),
    }));
    if (jeton === jetonA) throw new Error('le jeton d’accès n’a jamais été rafraîchi');
    if (reconnexions !== 0 || etat !== 'en_ligne') throw new Error(`socket de A : ${reconnexions} reconnexion(s), ${etat}`);
  });
}

await executer(principal, LIMITE_MS);
