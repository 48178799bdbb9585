-- Reference data: partnership areas (partnerskapsområden) and agencies (förvaltningar, myndigheter).
CREATE TABLE areas (
    slug TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE agencies (
    slug TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('social_services', 'police', 'school', 'partner')),
    created_at TIMESTAMP NOT NULL
);

-- Seeded once, by this migration (API.md §4).
INSERT INTO areas (slug, name) VALUES
    ('vivalla', 'Vivalla'),
    ('baronbackarna', 'Baronbackarna'),
    ('varberga', 'Varberga'),
    ('oxhagen', 'Oxhagen'),
    ('brickebacken', 'Brickebacken');

INSERT INTO agencies (slug, name, kind, created_at) VALUES
    ('socialtjanst-orebro', 'Socialtjänsten Örebro kommun', 'social_services', '2026-01-01 00:00:00'),
    ('polisen-orebro', 'Polisen, lokalpolisområde Örebro', 'police', '2026-01-01 00:00:00'),
    ('skola-orebro', 'Förskola och skola, Örebro kommun', 'school', '2026-01-01 00:00:00'),
    ('fritid-orebro', 'Kultur och fritid, Örebro kommun', 'partner', '2026-01-01 00:00:00'),
    ('arbetsmarknad-orebro', 'Vuxenutbildning och arbetsmarknad, Örebro kommun', 'partner', '2026-01-01 00:00:00'),
    ('obo', 'ÖrebroBostäder AB (ÖBO)', 'partner', '2026-01-01 00:00:00');
