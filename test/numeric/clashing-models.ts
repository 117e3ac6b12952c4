// Models of issue 8 whose parameter names meet when joined with underscores (see identity.test.ts).

export const ONCE_MODEL = `dim N
data x[N]
param a
param a_once
minimize sum((a .* x - 1) .^ 2) + a^2 + a_once^2 + sum(a_once .* x)
`;

export const CLASH_MODEL = `param x
param y_z
param x_y
param z
minimize (x * y_z)^2 + (x_y * z)^2 + x * z + y_z * x_y + sin(x_y * y_z)
`;
