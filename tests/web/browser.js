// Headless Chromium (Debian's) through puppeteer-core, as each role, on
// deadlined-web behind nginx; axe-core on every page visited.  Prints one
// line a check ("ok ..." or "FAIL ..."), and exits non-zero on any failure.
// Usage: node browser.js PROXY_URL UNTIL_DATE
'use strict';
const puppeteer = require('puppeteer-core');
const axeSource = require('axe-core').source;

const [base, until] = process.argv.slice(2);
let failures = 0;
const check = (cond, what) => {
  console.log((cond ? 'ok ' : 'FAIL ') + what);
  if (!cond) failures++;
};

// No serious or critical axe violations, WCAG 2.0-2.2 A and AA rules.
async function axeBad(page) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  }));
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
}

async function axe(page, name) {
  const bad = await axeBad(page);
  check(bad.length === 0, `axe on ${name}: ` + (bad.length ? JSON.stringify(bad.map(v =>
    ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target) }))) : 'clean'));
}

async function as(browser, who) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setBypassCSP(true);     // for axe's injected script only
  if (who) await page.setCookie({ name: 'sso', value: who + '-session', url: base });
  return { ctx, page };
}

async function visit(page, path) {
  const resp = await page.goto(base + path, { waitUntil: 'load' });
  return resp.status();
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    // The harness can fail: an unlabelled field on a page of our own making.
    const ctl = await as(browser, null);
    await ctl.page.setContent('<!DOCTYPE html><html lang="en"><title>t</title><input type="text">');
    check((await axeBad(ctl.page)).length > 0, 'axe reports an unlabelled field (control)');
    await ctl.ctx.close();

    // A team manager: tray, a case, acknowledge three with a reason.
    const tm = await as(browser, 'tm1');
    check(await visit(tm.page, '/') === 200, 'tm1 opens the tray');
    await axe(tm.page, 'tray');
    // Usable on a phone: nothing wider than the screen but the table's own scroller.
    await tm.page.setViewport({ width: 375, height: 800 });
    const wide = await tm.page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 375, `tray fits a 375 px phone screen (scrollWidth ${wide})`);
    await tm.page.setViewport({ width: 1024, height: 800 });
    await tm.page.click('a[href="/case?ref=A1"]');
    await tm.page.waitForSelector('h1');
    check((await tm.page.$eval('h1', e => e.textContent)) === 'A1', 'tm1 opens case A1 from the tray');
    await axe(tm.page, 'case page');
    await visit(tm.page, '/');
    for (const c of ['A1', 'A2', 'A3'])
      await tm.page.click(`input[value="${c}|decision"]`);
    await Promise.all([tm.page.waitForNavigation(), tm.page.click('form[action="/ack"] button')]);
    check(tm.page.url().includes('/ack?'), 'acknowledge form opened with GET');
    await axe(tm.page, 'acknowledge form');
    // Submitting without a reason: the browser's own check stops it; the
    // server's is tested with curl.  Now fill it in.
    await tm.page.type('#reason', 'Family moved; assessment overran. Remind me after the 14th.');
    await tm.page.$eval('#until', (e, v) => { e.value = v; }, until);
    await Promise.all([tm.page.waitForNavigation(), tm.page.click('form[action="/ack"] button')]);
    const notice = await tm.page.$eval('.notice', e => e.textContent).catch(() => '');
    check(/3 items acknowledged/.test(notice), 'tray says three acknowledged: ' + notice);
    await axe(tm.page, 'tray after acknowledging');
    // SCREENSHOT=FILE: the tray as the README shows it.
    if (process.env.SCREENSHOT)
      await tm.page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    const acked = await tm.page.$$eval('td', tds => tds.filter(t => t.textContent.startsWith('Until ')).length);
    check(acked === 3, `tray shows three acknowledgements (${acked})`);
    await visit(tm.page, '/cover');
    await axe(tm.page, 'cover page');
    await visit(tm.page, '/calendar');
    await axe(tm.page, 'calendar page');
    check(await visit(tm.page, '/report?from=2025-01-01&to=2025-01-31') === 200, 'tm1 opens the report');
    await axe(tm.page, 'report page');
    await tm.ctx.close();

    // Paging: team T3's manager has 60 open, 50 a page.  Page 2 is
    // reached by its Next link, is clean, and what is chosen on it is what
    // the acknowledge form lists.
    const t3 = await as(browser, 'tm3');
    check(await visit(t3.page, '/') === 200, 'tm3 opens the tray');
    const rows = () => t3.page.$$eval('input[name="item"]', e => e.map(x => x.value));
    const first = await rows();
    check(first.length === 50, `tm3's page 1 holds 50 rows (${first.length})`);
    await Promise.all([t3.page.waitForNavigation(), t3.page.click('nav.pagination a[rel="next"]')]);
    check(/[?&]page=2(&|$)/.test(t3.page.url()), 'Next leads to page 2: ' + t3.page.url());
    const second = await rows();
    check(second.length === 10 && second.every(v => !first.includes(v)),
      `page 2 holds the other 10 (${second.length})`);
    await axe(t3.page, 'tray page 2');
    await t3.page.setViewport({ width: 375, height: 800 });
    const wide2 = await t3.page.evaluate(() => document.documentElement.scrollWidth);
    check(wide2 <= 375, `page 2 and its pagination fit a 375 px phone screen (scrollWidth ${wide2})`);
    await t3.page.setViewport({ width: 1024, height: 800 });
    for (const v of second.slice(0, 2))
      await t3.page.click(`input[value="${v}"]`);
    await Promise.all([t3.page.waitForNavigation(), t3.page.click('form[action="/ack"] button')]);
    const listed = await t3.page.$$eval('form[action="/ack"] input[name="item"]', e => e.map(x => x.value));
    check(listed.length === 2 && listed.every(v => second.slice(0, 2).includes(v)),
      'the acknowledge form lists the two chosen on page 2: ' + listed.join(', '));
    await visit(t3.page, '/?page=2');
    await Promise.all([t3.page.waitForNavigation(), t3.page.click('nav.pagination a[rel="prev"]')]);
    check(JSON.stringify(await rows()) === JSON.stringify(first), 'Previous leads back to page 1');
    await t3.ctx.close();

    // A worker cannot open another team's case.
    const w = await as(browser, 'w1');
    check(await visit(w.page, '/case?ref=B1') === 403, 'w1 gets 403 on team T2\'s case');
    await axe(w.page, '403 page');
    await w.ctx.close();

    // Nobody signed in.
    const anon = await as(browser, null);
    check(await visit(anon.page, '/') === 401, 'no session: 401');
    await axe(anon.page, '401 page');
    await anon.ctx.close();
  } finally {
    await browser.close();
  }
  process.exit(failures ? 1 : 0);
})().catch(e => { console.log('FAIL ' + e.stack); process.exit(1); });
