// End-to-end: the game master's console (`/admin`) in a browser, against its own `mmo serve`
// (commun.mjs). Three browsers: Rowena insults the zone, Ysolde reports her from the chat; the
// account « maitre », refused the console as a player, is promoted with `mmo admin
// promouvoir` and logs in again; it reads the reports queue, finds Rowena, reads her
// timeline and follows its links, travels back in her inventory, grants her an item (she sees
// it in her bag), bans her (her socket closes, her screen says why, she does not reconnect,
// and her next call is refused), closes the report; demoted, its next call is refused.
// A screenshot of each console screen goes to doc/client/.
import {
  MOT_DE_PASSE, capture, creerPersonnage, demarrerServeur, etape, executer, inscrire, lancerChromium, log, mmo,
  nouveauJoueur, pause, tid,
} from './commun.mjs';

const LIMITE_MS = 120_000;

async function principal() {
  let url;
  await etape('serveur', async () => { url = await demarrerServeur(); log(`  ${url}`); });
  await etape('chromium', lancerChromium);
  const M = await nouveauJoueur('MJ', url);
  const R = await nouveauJoueur('Rowena', url);
  const Y = await nouveauJoueur('Ysolde', url);

  await etape('un compte sans le rôle trouve la console fermée', async () => {
    await inscrire(M, 'maitre');
    if (await M.locator(tid('vers-console')).count()) throw new Error('un lien vers la console pour un joueur');
    await M.goto(`${url}/admin`);
    await M.locator(tid('console-refusee')).filter({ hasText: 'n’est pas maître du jeu' }).waitFor();
    await capture(M, '12-console-refusee');
  });

  await etape('deux joueuses dans la plaine ; Ysolde signale Rowena depuis le chat', async () => {
    await inscrire(R, 'rowena');
    await creerPersonnage(R, 'Rowena', 'DPS');
    await inscrire(Y, 'ysolde');
    await creerPersonnage(Y, 'Ysolde', 'Heal');
    await R.fill(tid('chat-saisie'), 'Bande de nuls, je triche et personne ne me prendra');
    await R.press(tid('chat-saisie'), 'Enter');
    const message = Y.locator(`${tid('messages')} .message[data-de="Rowena"]`).filter({ hasText: 'je triche' });
    await message.locator(tid('signaler')).click();
    await Y.fill(tid('signalement-raison'), 'insultes et triche avouée dans le chat de zone');
    await capture(Y, '12b-signaler');
    await Y.click(tid('signalement-envoyer'));
    await Y.locator(tid('avis')).getByText('Signalement de Rowena envoyé').waitFor();
  });

  await etape('promu par `mmo admin promouvoir`, il se reconnecte et ouvre la console', async () => {
    log(`  ${mmo('admin', 'promouvoir', 'maitre').trim()}`);
    await M.goto(`${url}/personnages`);
    await M.click(tid('deconnecter'));
    await M.waitForURL('**/connexion');
    await M.fill(tid('login'), 'maitre');
    await M.fill(tid('mot-de-passe'), MOT_DE_PASSE);
    await M.click(tid('valider'));
    await M.click(tid('vers-console'));
    await M.waitForURL('**/admin/recherche');
  });

  await etape('la file des signalements', async () => {
    await M.click(tid('nav-signalements'));
    await M.locator(`${tid('signalements')} tr[data-cible="Rowena"]`).filter({ hasText: 'triche avouée' }).waitFor();
    await capture(M, '13-console-signalements');
  });

  await etape('trouver une joueuse', async () => {
    await M.click(tid('nav-recherche'));
    await M.fill(tid('recherche-texte'), 'ROW');
    await M.click(tid('recherche-valider'));
    const ligne = M.locator(`${tid('resultats')} tr[data-login="rowena"]`);
    await ligne.filter({ hasText: 'Rowena' }).waitFor();
    await capture(M, '14-console-recherche');
    await ligne.locator(tid('ouvrir-compte')).click();
    await M.locator(`${tid('compte')}[data-login="rowena"][data-banni="false"]`).waitFor();
  });

  await etape('sa chronologie, et les liens de corrélation et de cause', async () => {
    await M.click(tid('onglet-chronologie'));
    await M.click(tid('sujet-Rowena'));
    const evenements = M.locator(tid('evenements'));
    await evenements.locator('tr[data-type="JoueurCree"]').waitFor();
    // The starting kit: a step of the creation (or the process manager's reaction to it).
    const kit = evenements.locator('tr[data-agregat="Inventaire"][data-type="OrCredite"]').first();
    await kit.waitFor();
    await kit.locator(tid('lien-correlation')).click();
    const lies = M.locator(`${tid('lies')}[data-genre="correlation"]`);
    await lies.locator('tr[data-type="JoueurCree"]').waitFor();
    await lies.locator('tr[data-type="OrCredite"]').waitFor();
    await capture(M, '15-console-chronologie');
    // Its cause: the creation request (whose command wrote JoueurCree), or JoueurCree itself.
    await kit.locator(tid('lien-cause')).click();
    await M.locator(`${tid('lies')}[data-genre="cause"] tr[data-type="JoueurCree"]`).waitFor();
  });

  await etape('voyage dans le temps : l’inventaire à son premier événement, et ce qui a changé', async () => {
    await M.locator(`${tid('evenements')} tr[data-agregat="Inventaire"][data-sequence="1"] ${tid('voyager')}`).click();
    const voyage = M.locator(`${tid('voyage')}[data-sequence="1"]`);
    await voyage.waitFor();
    // Opened empty; now 30 gold and the kit: the difference names them.
    await M.locator(`${tid('etat-resume')}[data-or="0"]`).waitFor();
    await M.locator(`${tid('difference')} tr[data-chemin="/contenu/or"]`).filter({ hasText: '30' }).waitFor();
    await M.locator(`${tid('difference')} tr[data-chemin="/contenu/items/potion_de_soin"]`).waitFor();
    await M.click(tid('voyage-apres'));
    await M.locator(`${tid('voyage')}[data-sequence="2"]`).waitFor();
    await M.locator(`${tid('etat-resume')}[data-or="30"]`).waitFor();
    await M.click(tid('voyage-avant'));
    await voyage.waitFor();
    await capture(M, '16-console-voyage');
  });

  await etape('le MJ donne une épée, Rowena la voit dans son sac', async () => {
    await M.click(tid('onglet-dossier'));
    await M.fill(tid('raison'), 'compensation : épée perdue pendant la panne du 7');
    await M.selectOption(tid('correction-item'), 'epee_en_fer');
    await M.click(tid('donner'));
    await M.locator(tid('action-resultat')).filter({ hasText: 'Donné à Rowena' }).waitFor();
    await R.click(tid('nav-inventaire'));
    await R.locator('.case[data-item="epee_en_fer"][data-quantite="1"]').waitFor();
    await R.locator(tid('avis')).getByText('Un maître du jeu vous a donné').waitFor();
  });

  await etape('le MJ bannit Rowena : sa socket se ferme, son écran le dit, son appel suivant est refusé', async () => {
    const avant = await R.evaluate(() => window.__mmo.ouvertures());
    await M.fill(tid('raison'), 'insultes répétées et triche avouée');
    await M.click(tid('bannir'));
    await M.locator(tid('action-resultat')).filter({ hasText: 'rowena est banni' }).waitFor();
    await M.locator(`${tid('compte')}[data-banni="true"]`).waitFor();
    await M.locator(`${tid('dossier')} tr[data-type="CompteBanni"]`).filter({ hasText: 'triche avouée' }).waitFor();
    await capture(M, '17-console-compte');
    await R.locator(tid('banni-phrase')).filter({ hasText: 'banni par un maître du jeu, sans date de fin : « insultes répétées et triche avouée »' }).waitFor();
    // No reconnection in a loop: three seconds later, no socket was opened again.
    await pause(3000);
    const { ouvertures, etat } = await R.evaluate(() => ({ ouvertures: window.__mmo.ouvertures(), etat: window.__mmo.etat() }));
    if (ouvertures !== avant || etat !== 'hors_ligne') throw new Error(`après le bannissement : ${ouvertures - avant} socket(s) rouverte(s), état ${etat}`);
    const refus = await R.evaluate(async () => {
      const jeton = JSON.parse(sessionStorage.getItem('mmo.session')).jeton_acces;
      const r = await fetch('/rpc', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${jeton}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'inventaire.consulter', params: { joueur_id: sessionStorage.getItem('mmo.personnage') } }),
      });
      return (await r.json()).error?.data;
    });
    if (refus?.code !== 'COMPTE_BANNI') throw new Error(`appel après le bannissement : ${JSON.stringify(refus)}`);
    await capture(R, '18-banni');
  });

  await etape('la chronologie du compte montre chaque action, le MJ pour auteur', async () => {
    await M.click(tid('onglet-chronologie'));
    await M.click(tid('sujet-compte'));
    const evenements = M.locator(tid('evenements'));
    await evenements.locator('tr[data-type="CompteBanni"]').filter({ hasText: 'maitre' }).waitFor();
    await evenements.locator('tr[data-agregat="Inventaire"][data-type="ItemAjoute"]').filter({ hasText: 'Épée en fer' }).filter({ hasText: 'maitre' }).waitFor();
    await capture(M, '19-console-chronologie-mj');
  });

  await etape('le signalement est clos avec une note', async () => {
    await M.click(tid('nav-signalements'));
    const ligne = M.locator(`${tid('signalements')} tr[data-cible="Rowena"]`);
    await ligne.locator(tid('note')).fill('Rowena bannie');
    await ligne.locator(tid('clore')).click();
    await ligne.waitFor({ state: 'detached' });
  });

  await etape('rétrogradé, le MJ est refusé dès son appel suivant, sans se reconnecter', async () => {
    log(`  ${mmo('admin', 'promouvoir', '--retirer', 'maitre').trim()}`);
    await M.click(tid('nav-recherche'));
    await M.fill(tid('recherche-texte'), 'ysol');
    await M.click(tid('recherche-valider'));
    await M.locator(tid('console-erreur')).filter({ hasText: 'n’est pas (ou plus) maître du jeu' }).waitFor();
  });
}

await executer(principal, LIMITE_MS);
